"""Data: sources (Keras loaders, archives, IDX files, image folders), the train / validation /
test splits, and the EDA statistics the report states.
"""
