"""The run folder: what `fer-keras train` writes into `--out` and everything that reads, writes,
locks or continues it.

    folder.py   its files and their names, config.yaml read, log.csv and the backup's epoch read
                and trimmed, the model and class names a finished run offers, a new or resumed
                run's checks
    record.py   config.yaml written: the recipe, its fingerprint, the command; a resume's changes
    lock.py     one process at a time (.run.lock)
    space.py    the disk's room, checked before a run and a full disk met during one
    write.py    atomic writes (checkpoints, JSON) that a kill or a full disk cannot leave half done
    report.py   the figures and reports (metrics.json, confusion_matrix.png, curves.png, predictions.csv)

Loading a finished run's model is `fer_keras.loading.load_run`; training one, `fer_keras.training.train`.
"""
