"""One module per step: `check_NN_name.py` holds the checks of step `NN_name`."""
