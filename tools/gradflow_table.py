#!/usr/bin/python3
"""Summarize `resnet4j gradflow` outputs as the table in docs/WHY-RESIDUALS.md.

    python3 tools/gradflow_table.py DIR...    (each DIR holds gradflow.csv and activations.csv; rows in argument order)

Per net: the gradient norm of the first conv and of the classifier, their ratio, the largest
update/weight ratio of one SGD step at lr 0.1, and the std of the classifier's output.
"""
import csv
import os
import sys


def main(dirs):
    print("| net | ‖∇‖ conv1 | ‖∇‖ fc | conv1 / fc | max update/weight @ lr 0.1 | logit std |")
    print("|---|---|---|---|---|---|")
    for d in dirs:
        g = list(csv.DictReader(open(os.path.join(d, "gradflow.csv"))))
        a = list(csv.DictReader(open(os.path.join(d, "activations.csv"))))
        first, last = float(g[0]["grad_norm"]), float(g[-1]["grad_norm"])
        upd = max(float(r["update_ratio"]) for r in g)
        name = os.path.basename(os.path.normpath(d)).replace("gradflow-", "")
        name = name[:-5] + " (no BN)" if name.endswith("-nobn") else name
        print("| %s | %.3g | %.3g | %.3g | %.3g | %.3g |" % (name, first, last, first / last, upd,
                                                          float(a[-1]["std"])))


if __name__ == "__main__":
    main(sys.argv[1:])
