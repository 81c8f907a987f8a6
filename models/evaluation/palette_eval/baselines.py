"""Classical baselines, evaluated in the same tables as the model (all deterministic: no diversity).

    inpainting   OpenCV Telea (fast marching) and Navier–Stokes inpainting of the hole (radius 3 px)
    uncropping   the same two as a fill of the unknown border, and numpy's reflect and edge padding of
                 the known part out to the canvas
    colorization the grayscale input itself
    JPEG         the decoded input JPEG itself, and OpenCV's non-local means over it (the classical
                 denoiser a user would try first; filter strength 10 for luminance and colour, as
                 OpenCV's tutorial uses, 7 px patches searched in 21 px windows)
"""

from __future__ import annotations

import cv2
import numpy as np

from .cases import Prepared

INPAINT_RADIUS = 3


def opencv_inpaint(image: np.ndarray, hole: np.ndarray, method: int) -> np.ndarray:
    """cv2.inpaint on an RGB uint8 image (OpenCV works in BGR; the channel order is swapped around it)."""
    bgr = np.ascontiguousarray(image[..., ::-1])
    bgr[hole] = 0  # the hole's content must not matter
    filled = cv2.inpaint(bgr, hole.astype(np.uint8) * 255, INPAINT_RADIUS, method)
    return np.ascontiguousarray(filled[..., ::-1])


NLM_STRENGTH = 10


def opencv_nl_means(image: np.ndarray) -> np.ndarray:
    """cv2.fastNlMeansDenoisingColored on an RGB uint8 image (it works in BGR, denoising in Lab)."""
    bgr = np.ascontiguousarray(image[..., ::-1])
    out = cv2.fastNlMeansDenoisingColored(bgr, None, NLM_STRENGTH, NLM_STRENGTH, 7, 21)
    return np.ascontiguousarray(out[..., ::-1])


def pad_known(p: Prepared, mode: str) -> np.ndarray:
    """The known part of an uncrop padded out to the canvas with numpy.pad (`reflect` or `edge`)."""
    assert p.extend is not None
    e = p.extend
    return np.pad(p.product_image, ((e["top"], e["bottom"]), (e["left"], e["right"]), (0, 0)), mode=mode)


def baselines_for(p: Prepared) -> dict[str, np.ndarray]:
    """Method name → output image (uint8 [S, S, 3]) for one prepared input."""
    task = p.case.product_task
    if task in ("fill", "uncrop"):
        assert p.hole is not None
        out = {
            "OpenCV Telea": opencv_inpaint(p.original, p.hole, cv2.INPAINT_TELEA),
            "OpenCV Navier-Stokes": opencv_inpaint(p.original, p.hole, cv2.INPAINT_NS),
        }
        if task == "uncrop":
            out["reflect extension"] = pad_known(p, "reflect")
            out["edge extension"] = pad_known(p, "edge")
        return out
    if task == "colorize":
        return {"grayscale input": p.product_image}
    if task == "restore":
        return {"input JPEG": p.product_image, "OpenCV non-local means": opencv_nl_means(p.product_image)}
    raise ValueError(f"no baselines for task {task}")
