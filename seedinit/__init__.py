"""seedinit: the paper's one-shot, data-driven conv-filter initialization (Algorithm 1), made executable."""

from importlib.metadata import version

from .algorithm import seed_filters
from .config import Config
from .data import DataError, Dataset, load_dataset, stratified_subset
from .experiment import run, run_together
from .inits import LayerReport, msra_init_, seed_init_
from .models import LeNet5, ResNet8
from .options import ConfigError, SeedOptions
from .other_inits import kmeans_init_, lsuv_init_, orthogonal_init_, pca_init_
from .records import RecordError, load_records, write_record
from .stats import q34
from .training import train

__version__ = version("seedinit")

__all__ = [
    "Config", "ConfigError", "DataError", "Dataset", "LayerReport", "LeNet5", "RecordError", "ResNet8", "SeedOptions", "__version__",
    "kmeans_init_", "load_dataset", "load_records", "lsuv_init_", "msra_init_", "orthogonal_init_", "pca_init_", "q34", "run",
    "run_together", "seed_filters", "seed_init_", "stratified_subset", "train", "write_record",
]  # fmt: skip
