"""Operations on a whole installation (the data folder and the store together): backups and
restores, and the batch jobs that build the precomputed tables, in-process or on a Dask cluster.

Above the importer (it takes the importer's locks) and below the command line and the screens.
"""
