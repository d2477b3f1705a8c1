#!/usr/bin/env python3
"""Pairs for the face evaluation on synthetic document portraits.

For each synthetic document (from `datasets-synthetic generate documents`, or a webcam frame of
one from `generate frames`) that shows a
portrait, writes one genuine pair (the document against a *different* photo of the same person)
and one impostor pair (the document against a photo of someone else), as a CSV that
`verifier face eval --pairs CSV --images /` reads. People are the connected components of the
"Yes" pairs of face-recognition-pivot.csv. Deterministic: photos are picked by the document's
index.

usage: portrait_pairs.py DOCUMENTS_DIR FACES_DIR OUT.csv
"""
import csv
import json
import os
import sys


def people(pivot):
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    with open(pivot) as f:
        for row in csv.DictReader(f):
            a, b = (os.path.basename(row[k]) for k in ("file_x", "file_y"))
            find(a), find(b)
            if row["decision"] == "Yes":
                parent[find(a)] = find(b)
    groups = {}
    for name in parent:
        groups.setdefault(find(name), []).append(name)
    return {name: sorted(groups[find(name)]) for name in parent}


def main():
    docs, faces, out = sys.argv[1:4]
    person_of = people(os.path.join(faces, "face-recognition-pivot.csv"))
    everyone = sorted(person_of)
    rows = []
    labels = sorted(f for f in os.listdir(docs) if f.endswith(".json") and f[0].isdigit())
    for i, name in enumerate(labels):
        label = json.load(open(os.path.join(docs, name)))
        # Frame labels wrap the document's label; document labels are it.
        document = label.get("document", label)
        photo = document["face"]["file"]
        if document["geometry"].get("portrait") is None or document["face"]["placeholder"] or photo not in person_of:
            continue
        stem = os.path.join(docs, name[:-5])
        image = os.path.abspath(stem + (".jpg" if os.path.exists(stem + ".jpg") else ".png"))
        same = [p for p in person_of[photo] if p != photo]
        others = [p for p in everyone if p not in person_of[photo]]
        if same:
            rows.append((image, os.path.abspath(os.path.join(faces, same[i % len(same)])), "Yes"))
        rows.append((image, os.path.abspath(os.path.join(faces, others[(i * 7) % len(others)])), "No"))
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file_x", "file_y", "decision"])
        w.writerows(rows)
    print(f"{len(rows)} pairs from {len(labels)} documents -> {out}")


if __name__ == "__main__":
    main()
