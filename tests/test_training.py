import torch

from seedinit import LeNet5
from seedinit.training import Single, accuracies


def test_accuracy_does_not_depend_on_the_evaluation_batch():
    torch.manual_seed(0)
    model, x, y = LeNet5(), torch.rand(1100, 1, 28, 28), torch.randint(0, 10, (1100,))
    expected = int((model(x).argmax(1) == y).sum()) / len(y)
    assert accuracies(Single(model), x, y) == accuracies(Single(model), x, y, batch_size=7) == [expected]
    assert model.training  # evaluation leaves the training mode as it found it
