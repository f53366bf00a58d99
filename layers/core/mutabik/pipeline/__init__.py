"""What each function does, as plain functions over the stores: intake, mapping, pushing, redrive."""
