import pytest

from seedinit import Config, ConfigError


def test_defaults_are_valid_and_round_trip_through_dicts():
    cfg = Config()
    assert Config.from_dict(cfg.to_dict()) == cfg
    assert cfg.to_dict()["hidden"] == [120, 84]


def test_key_ignores_device_and_seed_settings_of_msra_runs():
    a = Config(init="msra", delta=0.1)
    assert a.key() == Config(init="msra", delta=0.9, device="cpu").key()
    assert Config(init="seed", delta=0.1).key() != Config(init="seed", delta=0.9).key()
    assert Config(seed=1).run_name().startswith("mnist-r0.1-msra-s1-")


def test_a_setting_that_does_not_apply_leaves_the_key_alone():
    """It changes no result, so it must not change the record's name (the CLI refuses it: ``test_cli``)."""
    assert Config(stop="fixed", patience=5).key() == Config().key() != Config(stop="converged", patience=5).key()
    assert Config(model="resnet8", hidden=(500,)).key() == Config(model="resnet8").key() != Config(hidden=(500,)).key()
    seed = Config(init="seed", selection="diverse")
    assert Config(init="seed", max_cosine=0.5).key() == Config(init="seed").key() and seed.replace(max_cosine=0.5).key() != seed.key()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"delta": -0.1}, "delta=-0.1"),
        ({"theta": -1}, "theta=-1"),
        ({"theta": 2.0}, "theta=2.0 is not allowed; theta must be in [0, 1] when theta_mode is relative"),
        ({"epsilon": float("nan")}, "epsilon=nan"),
        ({"radius": 1.5}, "radius=1.5 is not allowed; radius must be a whole number >= 0"),
        ({"ratio": 1.01}, "ratio=1.01"),
        ({"dataset": "imagenet"}, "dataset='imagenet' is not allowed; dataset must be one of mnist, fashion_mnist"),
        ({"init": "xavier"}, "init='xavier'"),
        ({"device": "tpu"}, "device='tpu'"),
        ({"seed": True}, "seed=True"),
        ({"epochs": 0}, "epochs=0"),
        ({"grayscale": "yes"}, "grayscale='yes' is not allowed; grayscale must be true or false"),
        ({"hidden": [120, 0]}, "hidden=(120, 0)"),
        ({"detla": 0.5}, "unknown setting(s) detla"),
    ],
)
def test_bad_values_name_the_value_the_rule_and_the_source(values, message):
    with pytest.raises(ConfigError, match="^grid.yaml: ") as err:
        Config.from_dict(values, source="grid.yaml")
    assert message in str(err.value)


def test_a_whole_number_given_for_a_real_setting_names_the_same_run():
    """YAML and papermill's -p write 1 for 1.0: the same run, the same record."""
    assert Config.from_dict({"ratio": 1, "init": "seed", "delta": 1}).run_name() == Config(ratio=1.0, init="seed", delta=1.0).run_name()
    assert isinstance(Config(lr=1).lr, float) and Config(seed=3).seed == 3 and isinstance(Config(seed=3).seed, int)
