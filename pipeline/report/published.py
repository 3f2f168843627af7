"""The paper's published figures (its Tables 2-4), verbatim.

Values are the strings as printed, typos included ("EOILEX", "LigntXML", a missing
P@3, "85.24" without its %); "-" where the paper prints a dash and "" where it
prints nothing. They were measured on other corpora (AmazonCat-13K, EURLex-4K,
the full RCV1), so they stand beside our rows, never among them.
"""

from __future__ import annotations

TABLE2_COLUMNS = ("P@1", "P@3", "P@5", "nDCG@3", "nDCG@5")
# (dataset as printed, method as printed, P@1, P@3, P@5, nDCG@3, nDCG@5)
TABLE2 = [
    ("AmazonCat-13K", "AnnexML*", "93.54%", "78.37%", "63.30%", "87.29%", "85.10%"),
    ("AmazonCat-13K", "Parabel*", "93.03%", "79.16%", "64.51%", "87.72%", "86.00%"),
    ("AmazonCat-13K", "Bonsai*", "92.98%", "79.13%", "64.46%", "87.68%", "85.92%"),
    ("AmazonCat-13K", "PfastreXML*", "91.75%", "77.97%", "63.68%", "86.48%", "84.96%"),
    ("AmazonCat-13K", "XML-CNN*", "93.26%", "77.06%", "61.40%", "86.20%", "83.43%"),
    ("AmazonCat-13K", "AttentionXML*", "95.92%", "82.41%", "67.31%", "91.17%", "89.48%"),
    ("AmazonCat-13K", "X-Transformer*", "96.70%", "83.85%", "68.58%", "-", "-"),
    ("AmazonCat-13K", "APLC-XLNet", "94.56%", "79.82%", "64.61%", "88.74%", "86.66%"),
    ("AmazonCat-13K", "LigntXML", "96.77%", "84.02%", "68.70%", "-", "-"),
    ("AmazonCat-13K", "TReaderXML", "96.64%", "85.57%", "68.98%", "93.99%", "91.67%"),
    ("EURLex", "AnnexML*", "79.66%", "64.94%", "53.52%", "68.70%", "62.71%"),
    ("EURLex", "Parabel*", "82.12%", "68.91%", "57.89%", "72.33%", "66.95%"),
    ("EURLex", "Bonsai*", "82.30%", "69.55%", "58.35%", "72.97%", "67.48%"),
    ("EURLex", "PfastreXML*", "73.13%", "60.16%", "50.54%", "63.51%", "58.71%"),
    ("EURLex", "XML-CNN*", "68.01%", "54.03%", "43.93%", "57.44%", "51.83%"),
    ("EURLex", "AttentionXML*", "87.12%", "73.99%", "61.92%", "77.44%", "71.53%"),
    ("EURLex", "X-Transformer*", "87.22%", "75.12%", "62.90%", "-", "-"),
    ("EURLex", "APLC-XLNet", "87.72%", "74.56%", "62.28%", "77.90%", "71.75%"),
    ("EURLex", "LigntXML", "87.63%", "75.89%", "63.36%", "-", "-"),
    ("EURLex", "TReaderXML", "87.88%", "", "64.05%", "80.70%", "73.56%"),
    ("RCV1", "AnnexML*", "90.89%", "76.48%", "52.77%", "-", "-"),
    ("RCV1", "Parabel*", "87.79%", "64.84%", "45.60%", "77.01%", "77.92%"),
    ("RCV1", "Bonsai*", "85.23%", "65.12%", "45.89%", "76.55%", "77.59%"),
    ("RCV1", "PfastreXML*", "68.82%", "60.76%", "43.28%", "69.40%", "71.24%"),
    ("RCV1", "XML-CNN*", "93.63%", "73.90%", "52.16%", "85.24", "86.69%"),
    ("RCV1", "AttentionXML*", "96.41%", "80.91%", "56.38%", "91.88%", "92.70%"),
    ("RCV1", "X-Transformer*", "-", "-", "-", "-", "-"),
    ("RCV1", "APLC-XLNet", "59.46%", "43.79%", "33.44%", "-", "-"),
    ("RCV1", "LigntXML", "95.31%", "78.40%", "54.93%", "-", "-"),
    ("RCV1", "TReaderXML", "97.50%", "78.74%", "54.67%", "90.29%", "90.94%"),
]

# (config id, teacher knowledge, Reading, P@1, P@3, P@5, nDCG@3, nDCG@5), AmazonCat-13K
TABLE3 = [
    ("0", "-", "-", "88.73%", "69.12%", "53.94%", "78.78%", "75.42%"),
    ("1", "True", "-", "93.93%", "77.70%", "58.53%", "87.15%", "81.79%"),
    ("2", "True", "MMHSA+R", "95.49%", "83.45%", "66.08%", "92.00%", "88.81%"),
    ("3", "True", "MHSA+R", "95.52%", "83.46%", "66.04%", "92.03%", "88.81%"),
    ("4", "True", "MHSA+R+MMHSA", "96.49%", "85.44%", "68.84%", "93.86%", "91.52%"),
    ("5", "True", "MMHSA+MHSA", "96.20%", "84.89%", "68.04%", "93.33%", "90.72%"),
    ("6", "True", "MMHSA+R+MHSA", "96.64%", "85.57%", "68.98%", "93.99%", "91.67%"),
]

# (method as printed, PSP@1, PSP@3, PSP@5), AmazonCat-13K; the paper's bold marks dropped
TABLE4 = [
    ("AnnexML*", "49.04%", "61.13%", "69.64%"),
    ("Parabel*", "50.93%", "64.00%", "72.08%"),
    ("Bonsai*", "51.30%", "64.60%", "72.48%"),
    ("PfastreXML*", "69.52%", "73.22%", "75.48%"),
    ("XML-CNN*", "52.42%", "62.83%", "67.10%"),
    ("AttentionXML'", "53.76%", "68.72%", "76.38%"),
    ("X-Transformer*", "-", "-", "-"),
    ("APLC-XLNet", "52.22%", "65.08%", "71.40%"),
    ("LigntXML", "-", "-", "-"),
    ("TReaderXML", "57.15%", "71.64%", "77.27%"),
]

# Table 3's configurations as (id, teacher, reading) in our parameters (docs/peers-and-tables.md)
CONFIGS = [
    (0, False, "none"),
    (1, True, "none"),
    (2, True, "MMHSA+R"),
    (3, True, "MHSA+R"),
    (4, True, "MHSA+R+MMHSA"),
    (5, True, "MMHSA+MHSA"),
    (6, True, "MMHSA+R+MHSA"),
]
