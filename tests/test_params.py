from pipeline.params import for_dataset


def test_a_value_given_once_serves_every_dataset():
    assert for_dataset(3, "reuters21578", 1) == 3
    assert for_dataset(["reuters21578"], "folder", []) == ["reuters21578"]
    assert for_dataset(None, "folder", []) is None  # given once as null: the caller decides what that means


def test_a_mapping_gives_each_dataset_its_own_value_and_the_default_to_the_rest():
    per = {"rcv1-v2-subset": 4, "reuters21578": 1}
    assert for_dataset(per, "rcv1-v2-subset", 1) == 4
    assert for_dataset(per, "folder", 1) == 1
    assert for_dataset({"folder": "four"}, "folder", 1) == "four"  # types are the caller's to check
