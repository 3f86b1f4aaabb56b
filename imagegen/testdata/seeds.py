#!/usr/bin/python3
"""Writes seeds.json: reference seeds for the moename rule.

ASCII digits only -> int(args) % 2**32; anything else (the empty string too)
-> int.from_bytes(md5(args.encode("utf-8")), "big") % 10**9.
Run: /usr/bin/python3 seeds.py > seeds.json
"""
import hashlib
import json

ARGS = ["", "hello", "Hello", "moe", "12345", "007", "4294967296", "4294967297",
        "123456789012345678901234567890", " 12", "12 ", "1.5", "-3", "日本語", "🐱 cat",
        "\uff11\uff12"]  # fullwidth digits are not ASCII digits


def seed(args):
    if args and all("0" <= c <= "9" for c in args):
        return int(args) % 2**32
    return int.from_bytes(hashlib.md5(args.encode("utf-8")).digest(), "big") % 10**9


print(json.dumps([{"args": a, "seed": seed(a)} for a in ARGS], ensure_ascii=False, indent=1))
