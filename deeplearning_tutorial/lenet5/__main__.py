"""``python -m deeplearning_tutorial.lenet5``: train LeNet-5 on the shared command line."""

from deeplearning_tutorial import cli

if __name__ == "__main__":
    cli.main("lenet5")
