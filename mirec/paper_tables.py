"""The papers' reported numbers, as fractions (the papers' percentages divided by 100).

Transcribed from ``shared/paper-tables.md``; keys are ``table -> dataset -> model -> metric``
with metric names as the paper prints them.
"""

SINE_TABLE1 = {
    "ml-1m": {
        "GRU4Rec": {"HR@10": 0.1461, "NDCG@10": 0.0566, "HR@50": 0.4161, "NDCG@50": 0.1066},
        "Caser": {"HR@10": 0.1544, "NDCG@10": 0.0613, "HR@50": 0.4364, "NDCG@50": 0.1153},
        "SASRec": {"HR@10": 0.1734, "NDCG@10": 0.0784, "HR@50": 0.4601, "NDCG@50": 0.1353},
        "MIND": {"HR@10": 0.1562, "NDCG@10": 0.0658, "HR@50": 0.4398, "NDCG@50": 0.1230},
        "MCPRN": {"HR@10": 0.1582, "NDCG@10": 0.0677, "HR@50": 0.4421, "NDCG@50": 0.1283},
        "SINE": {"HR@10": 0.1634, "NDCG@10": 0.0706, "HR@50": 0.4579, "NDCG@50": 0.1350},
    },
    "amazon-books": {
        "GRU4Rec": {"HR@50": 0.0170, "NDCG@50": 0.0051, "HR@100": 0.0274, "NDCG@100": 0.0067},
        "Caser": {"HR@50": 0.0260, "NDCG@50": 0.0081, "HR@100": 0.0396, "NDCG@100": 0.0103},
        "SASRec": {"HR@50": 0.0317, "NDCG@50": 0.0101, "HR@100": 0.0443, "NDCG@100": 0.0128},
        "MIND": {"HR@50": 0.0385, "NDCG@50": 0.0129, "HR@100": 0.0535, "NDCG@100": 0.0156},
        "MCPRN": {"HR@50": 0.0342, "NDCG@50": 0.0118, "HR@100": 0.0522, "NDCG@100": 0.0147},
        "SINE": {"HR@50": 0.0457, "NDCG@50": 0.0161, "HR@100": 0.0626, "NDCG@100": 0.0188},
    },
    "taobao": {
        "GRU4Rec": {"HR@50": 0.0941, "NDCG@50": 0.0360, "HR@100": 0.1243, "NDCG@100": 0.0408},
        "Caser": {"HR@50": 0.1071, "NDCG@50": 0.0496, "HR@100": 0.1350, "NDCG@100": 0.0568},
        "SASRec": {"HR@50": 0.1336, "NDCG@50": 0.0564, "HR@100": 0.1573, "NDCG@100": 0.0638},
        "MIND": {"HR@50": 0.1535, "NDCG@50": 0.0835, "HR@100": 0.1749, "NDCG@100": 0.0872},
        "MCPRN": {"HR@50": 0.1432, "NDCG@50": 0.0734, "HR@100": 0.1643, "NDCG@100": 0.0767},
        "SINE": {"HR@50": 0.1769, "NDCG@50": 0.1041, "HR@100": 0.2064, "NDCG@100": 0.1089},
    },
}

# UMI (Chai et al., SIGIR 2022) Table 2, MovieLens half (the Alibaba half is private data).
# The paper prints "Youtube DNN", "+HN" under MIND and ComiRec; keys here have no spaces
# (they are also workdir names).
UMI_TABLE2 = {
    "ml-1m": {
        "DSSM": {"HitRate@10": 0.02706, "Precision@10": 0.0245, "HitRate@50": 0.11006,
            "Precision@50": 0.02182, "HitRate@300": 0.40552, "Precision@300": 0.01644},
        "YoutubeDNN": {"HitRate@10": 0.07164, "Precision@10": 0.06887, "HitRate@50": 0.26687,
            "Precision@50": 0.05417, "HitRate@300": 0.62451, "Precision@300": 0.02571},
        "MIND": {"HitRate@10": 0.0621, "Precision@10": 0.0606, "HitRate@50": 0.22415,
            "Precision@50": 0.04623, "HitRate@300": 0.5944, "Precision@300": 0.02385},
        "MIND+HN": {"HitRate@10": 0.07236, "Precision@10": 0.06407, "HitRate@50": 0.25781,
            "Precision@50": 0.05123, "HitRate@300": 0.62722, "Precision@300": 0.02519},
        "ComiRec": {"HitRate@10": 0.06117, "Precision@10": 0.05778, "HitRate@50": 0.20839,
            "Precision@50": 0.04265, "HitRate@300": 0.56024, "Precision@300": 0.02289},
        "ComiRec+HN": {"HitRate@10": 0.0727, "Precision@10": 0.06358, "HitRate@50": 0.26367,
            "Precision@50": 0.05195, "HitRate@300": 0.63012, "Precision@300": 0.02534},
        "UMI": {"HitRate@10": 0.07505, "Precision@10": 0.07036, "HitRate@50": 0.27805,
            "Precision@50": 0.05649, "HitRate@300": 0.6482, "Precision@300": 0.02647},
    },
}

TABLES = {"sine_table1": SINE_TABLE1}
TABLES["umi_table2"] = UMI_TABLE2
