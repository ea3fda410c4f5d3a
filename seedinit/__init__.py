"""seedinit: the paper's one-shot, data-driven conv-filter initialization (Algorithm 1), made executable."""

__version__ = "0.1.0"

from .algorithm import seed_filters
from .config import Config, ConfigError
from .data import DataError, Dataset, load_dataset, stratified_subset
from .experiment import run
from .inits import LayerReport, msra_init_, seed_init_
from .models import LeNet5
from .records import RecordError, load_records, write_record
from .stats import q34
from .training import train

__all__ = [
    "Config", "ConfigError", "DataError", "Dataset", "LayerReport", "LeNet5", "RecordError", "__version__",
    "load_dataset", "load_records", "msra_init_", "q34", "run", "seed_filters", "seed_init_",
    "stratified_subset", "train", "write_record",
]  # fmt: skip
