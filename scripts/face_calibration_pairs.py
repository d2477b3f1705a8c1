#!/usr/bin/env python3
"""Pairs for calibrating the face-match threshold: every cross pair of the shared photos, and
every synthetic document portrait against every shared photo other than its own source.

People are the connected components of the "Yes" pairs of face-recognition-pivot.csv and
master.csv together (photos in neither are left out). Writes one CSV that
`verifier face eval --pairs CSV --images / [--document]` reads.

- photos: all C(n, 2) pairs of the n photos; same person = genuine, else impostor.
- documents (optional, from `datasets-synthetic generate documents|frames`): each document that
  shows a portrait, against every photo except the one its portrait was made from: the other
  photos of the same person are genuine pairs, everyone else's impostor pairs.
  Each such row names its document in a `document` column (the frames of one rendered
  document share the label's document seed), which `verifier face eval --document --sessions`
  groups by; photo pairs leave it empty.

The documents' portraits are made from the same photos, so the two parts are not independent
samples of people: 13 people in all. The figures say how the threshold behaves on these faces;
they cannot promise a false-match rate on the population.

usage: face_calibration_pairs.py FACES_DIR OUT.csv [DOCUMENTS_DIR ...] [--only-documents]
"""
import csv
import itertools
import json
import os
import sys


def people(faces):
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for name in ("face-recognition-pivot.csv", "master.csv"):
        path = os.path.join(faces, name)
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for row in csv.DictReader(f):
                row = {k.lower(): v for k, v in row.items()}
                a, b = (os.path.basename(row[k]) for k in ("file_x", "file_y"))
                find(a), find(b)
                if row["decision"].strip().lower() == "yes":
                    parent[find(a)] = find(b)
    return {name: find(name) for name in parent if os.path.exists(os.path.join(faces, name))}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    only_documents = "--only-documents" in sys.argv
    faces, out, doc_dirs = args[0], args[1], args[2:]
    person = people(faces)
    photos = sorted(person)
    path = lambda p: os.path.abspath(os.path.join(faces, p))
    rows = []
    if not only_documents:
        for a, b in itertools.combinations(photos, 2):
            rows.append((path(a), path(b), "Yes" if person[a] == person[b] else "No", ""))
    documents = 0
    for docs in doc_dirs:
        for name in sorted(f for f in os.listdir(docs) if f.endswith(".json") and f[0].isdigit()):
            label = json.load(open(os.path.join(docs, name)))
            document = label.get("document", label)
            source = document["face"]["file"]
            if document["geometry"].get("portrait") is None or document["face"]["placeholder"] or source not in person:
                continue
            stem = os.path.join(docs, name[:-5])
            image = os.path.abspath(stem + (".jpg" if os.path.exists(stem + ".jpg") else ".png"))
            documents += 1
            # Frames of one rendered document share its seed; a flat document render is its own.
            group = str(document.get("seed", name[:-5])) if "document" in label else name[:-5]
            for p in photos:
                if p != source:
                    rows.append((image, path(p), "Yes" if person[p] == person[source] else "No", group))
    with open(out, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["file_x", "file_y", "decision", "document"])
        w.writerows(rows)
    genuine = sum(r[2] == "Yes" for r in rows)
    print(f"{len(rows)} pairs ({genuine} genuine, {len(rows) - genuine} impostor): {len(photos)} photos of "
          f"{len(set(person.values()))} people, {documents} documents -> {out}")


if __name__ == "__main__":
    main()
