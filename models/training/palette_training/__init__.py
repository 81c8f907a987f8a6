"""Palette: image-to-image diffusion models (Saharia et al. 2022), training side."""
