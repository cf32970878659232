#!/usr/bin/env python3
"""Rebuild data/communes.tsv from La Poste's file and the Etalab commune names.

Usage: scripts/build-communes.py LAPOSTE_CSV ETALAB_COMMUNES_JSON > data/communes.tsv
  LAPOSTE_CSV: laposte_hexasmal.csv (data.gouv.fr, "Base officielle des codes postaux")
  ETALAB_COMMUNES_JSON: node_modules/@etalab/decoupage-administratif/data/communes.json
"""
import csv
import json
import re
import sys

PRIORITY = {"commune-actuelle": 0, "arrondissement-municipal": 1, "commune-deleguee": 2, "commune-associee": 3}


def main(laposte_csv, etalab_json):
    names = {}
    for commune in json.load(open(etalab_json, encoding="utf-8")):
        rank = PRIORITY.get(commune["type"], 9)
        if commune["code"] not in names or rank < names[commune["code"]][0]:
            names[commune["code"]] = (rank, commune["nom"])
    rows = {}
    with open(laposte_csv, encoding="utf-8") as f:
        reader = csv.reader(f, delimiter=";")
        next(reader)
        for insee, nom, postcode, _line5, _label, gps in reader:
            if (postcode, insee) in rows:
                continue
            name = names[insee][1] if insee in names else nom.title()
            city = re.sub(r" \d+(er|e) Arrondissement$", "", name)
            lat = lon = ""
            if gps.strip():
                a, b = gps.split(",")
                lat, lon = "%.4f" % float(a), "%.4f" % float(b)
            rows[(postcode, insee)] = (postcode, insee, name, city, lat, lon)
    out = sys.stdout
    out.write("# postcode\tinsee\tname\tcity\tlat\tlon\n")
    for row in sorted(rows.values()):
        out.write("\t".join(row) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
