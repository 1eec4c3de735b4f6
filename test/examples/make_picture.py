#!/usr/bin/python3
"""Draws test/examples/picture.png, the small picture of the README's image example and the
CLI's vision tests: 96 x 96 pixels, a house, a sun and a tree on grass under a sky; smooth
and without pure white or black, so overlays and outlines can be told apart. Debian's
python3-pil.

    /usr/bin/python3 test/examples/make_picture.py [out.png]
"""
import os
import sys

from PIL import Image, ImageDraw


def picture() -> Image.Image:
    size = 96
    image = Image.new("RGB", (size, size))
    draw = ImageDraw.Draw(image)
    for y in range(size):  # sky above, grass below
        if y < 64:
            draw.line([(0, y), (size - 1, y)], fill=(70 + y, 120 + y, 210))
        else:
            draw.line([(0, y), (size - 1, y)], fill=(60, 150 - (y - 64), 50))
    draw.ellipse([66, 8, 86, 28], fill=(245, 210, 60))         # sun
    draw.rectangle([14, 44, 42, 70], fill=(200, 190, 170))     # house
    draw.polygon([(10, 44), (28, 28), (46, 44)], fill=(180, 50, 40))  # roof
    draw.rectangle([25, 56, 31, 70], fill=(110, 70, 40))       # door
    draw.rectangle([64, 56, 70, 76], fill=(100, 70, 40))       # trunk
    draw.ellipse([56, 36, 78, 60], fill=(40, 110, 45))         # crown
    return image


def main(argv):
    out = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "picture.png")
    picture().save(out, optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
