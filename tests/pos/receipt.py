"""Receipts built with python-escpos, the client POS and kiosk software uses, for the
simulated printer's tests.

usage: receipt.py KIND DEST
  KIND  full (text in every style, barcodes, a QR code, images in the three ways the
        client sends them), text (five plain lines), codes (barcodes and a QR code)
  DEST  a file to write the job to, or tcp:HOST:PORT to send it as a POS does

Prints one JSON line per barcode or QR code sent: {"symbology": …, "data": …}, with the
symbology as zbarimg names it.
"""

import json
import sys

from escpos.printer import Dummy, Network
from PIL import Image, ImageDraw

# (python-escpos type, data, zbarimg's name, what zbarimg reads)
BARCODES = [
    ("EAN13", "400638133393", "EAN-13", "4006381333931"),
    ("UPC-A", "03600029145", "UPC-A", "036000291452"),
    ("CODE39", "PRINTRIG-42", "CODE-39", "PRINTRIG-42"),
    ("CODE128", "{BReceipt 0042", "CODE-128", "Receipt 0042"),
]
QR = "https://printrig.example/receipt/0042?total=12.50"


def picture():
    im = Image.new("1", (192, 96), 1)
    d = ImageDraw.Draw(im)
    d.rectangle((4, 4, 187, 91), outline=0, width=4)
    d.ellipse((64, 16, 128, 80), fill=0)
    return im


def text_receipt(p):
    for line in ["printrig", "line two", "line three", "line four", "line five"]:
        p.text(line + "\n")


def codes(p, sent):
    for kind, data, name, read in BARCODES:
        p.set(align="center")
        p.barcode(data, kind, height=64, width=2, pos="BELOW", function_type="B")
        p.text("\n\n")
        sent.append((name, read))
    p.set(align="center")
    p.qr(QR, native=True, size=4)
    p.text("\n")
    sent.append(("QR-Code", QR))


def full_receipt(p, sent):
    p.set(align="left")
    p.text("printrig receipt\n")
    p.set(bold=True)
    p.text("bold\n")
    p.set(bold=False, underline=1)
    p.text("underline one\n")
    p.set(underline=2)
    p.text("underline two\n")
    p.set(underline=0, double_height=True, double_width=True)
    p.text("DOUBLE\n")
    p.set(double_height=False, double_width=False, custom_size=True, width=3, height=2)
    p.text("3x2\n")
    p.set(normal_textsize=True, font="b")
    p.text("font B text\n")
    p.set(font="a", invert=True)
    p.text("inverted\n")
    p.set(invert=False, flip=True)
    p.text("upside down\n")
    p.set(flip=False, align="center")
    p.text("centred\n")
    p.set(align="right")
    p.text("right\n")
    p.set(align="left")
    p.charcode("CP858")
    p.text("Caf\u00e9 cr\u00e8me 2,50 \u20ac\n")
    codes(p, sent)
    p.set(align="center")
    for impl in ["bitImageRaster", "bitImageColumn", "graphics"]:
        p.image(picture(), impl=impl)
    p.text("thank you\n")


def main():
    kind, dest = sys.argv[1], sys.argv[2]
    if dest.startswith("tcp:"):
        _, host, port = dest.split(":")
        p = Network(host, int(port), timeout=10)
    else:
        p = Dummy()
    p.hw("INIT")
    sent = []
    if kind == "text":
        text_receipt(p)
        p.cut(feed=False)
    elif kind == "codes":
        codes(p, sent)
        p.cut()
    else:
        full_receipt(p, sent)
        p.cut()
    if isinstance(p, Dummy):
        with open(dest, "wb") as f:
            f.write(p.output)
    else:
        p.close()
    for name, data in sent:
        print(json.dumps({"symbology": name, "data": data}))


if __name__ == "__main__":
    main()
