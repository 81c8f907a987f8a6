"""Which Debian packages the photo set is built from, and what of each is used."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PackageSpec:
    name: str
    split: str  # "train" or "val": whole packages are held out, so no scene leaks across splits
    include: tuple[str, ...] = ("*",)  # globs on paths inside the package (or inside an .rcc)
    # Files the photo heuristics let through but that, on a contact sheet, are not photos.
    exclude: tuple[str, ...] = ()


def _globs(template: str, names: str) -> tuple[str, ...]:
    return tuple(template.format(name) for name in names.split())


# ``include`` scopes each package to where its photos live (KDE handbook
# screenshots under usr/share/doc/HTML are never wanted).  ``exclude`` lists what
# passed the colour heuristics but is not a photograph: paintings, rendered or
# abstract wallpapers, synthetic test patterns, logos, and test images that were
# deliberately blurred.  Every entry was checked by eye on a contact sheet.
PACKAGES: tuple[PackageSpec, ...] = (
    PackageSpec("endless-sky-high-dpi", "train", ("*/images/land/*",)),
    PackageSpec(
        "gcompris-qt-data",
        "train",
        ("usr/share/gcompris-qt/*",),
        (
            "*/babyshapes/resource/image/*_background.webp",  # paintings with shapes cut out
            *_globs("*/details/resource/image/{}*", "*Gogh PortraitOfPereTanguy Eglise_dAuvers"),
            "*/paintings/resource/*",
            "*/louis-braille/resource/chart.webp",
        ),
    ),
    PackageSpec("scratch", "train", ("usr/share/scratch/Media/Backgrounds/*",), ("*/room2.jpg",)),
    PackageSpec("mate-backgrounds", "train", ("usr/share/backgrounds/mate/nature/*",)),
    PackageSpec(
        "plasma-workspace-wallpapers",
        "train",
        ("usr/share/wallpapers/*",),
        _globs(
            "usr/share/wallpapers/{}/*",
            """Altai Autumn Canopee Cascade Cluster ColorfulCups Elarun Flow FlyingKonqui Honeywave
            IceCold Kay Kokkini MilkyWay Opal PastelHills Patak SafeLanding Shell Volna""",
        ),
    ),
    PackageSpec(
        "lxqt-themes",
        "train",
        ("usr/share/lxqt/wallpapers/*",),
        _globs("*/wallpapers/{}", "kde-plasma.png plasma-logo-*.png plasma_arch.png triangles*.png origami*.png"),
    ),
    PackageSpec("kphotoalbum", "val", ("usr/share/kphotoalbum/*",), ("*/splash*",)),
    PackageSpec("palapeli-data", "val", ("usr/share/palapeli/collection/*",)),
    PackageSpec("gnome-control-center-data", "train", ("usr/share/pixmaps/faces/*",)),
    PackageSpec(
        "opencv-doc",
        "train",
        ("usr/share/doc/opencv-doc/examples/*",),
        _globs(
            "*/examples/{}",
            """data/WindowsLogo.jpg data/HappyFish.jpg data/digits.png data/ellipses.jpg data/gradient.png
            data/pca_test1.jpg data/pic*.png data/starry_night.jpg data/text_defocus.jpg data/text_motion.jpg
            data/licenseplate_motion.jpg data/imageText*.png data/ml.png fuzzy/input.png ximgproc/stanford.png""",
        ),
    ),
    PackageSpec("libdlib19.1", "train", ("*",), _globs("*/examples/faces/{}", "bald_guys.jpg dogs.jpg")),  # collages
)
