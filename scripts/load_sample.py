"""Loads Extended JSON files (one document per line) into MongoDB collections, replacing what they held.

usage: load_sample.py MONGO_URI DATABASE FILE.json...   (each file fills the collection named after it)
Prints one line per collection with its document count. Run with the project's venv (.venv/bin/python).
"""

import pathlib
import sys

from bson import json_util
from pymongo import MongoClient


def main(arguments: list[str]) -> int:
    if len(arguments) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 64
    uri, database_name, paths = arguments[0], arguments[1], [pathlib.Path(p) for p in arguments[2:]]
    client = MongoClient(uri, serverSelectionTimeoutMS=10_000)
    database = client[database_name]
    for path in paths:
        collection = database[path.stem]
        documents = [json_util.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        collection.drop()  # idempotent: a second run replaces the data instead of failing on duplicate _ids
        if documents:
            collection.insert_many(documents, ordered=True)
        print(f"{database_name}.{collection.name}: {collection.count_documents({})} documents (from {path.name})")
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
