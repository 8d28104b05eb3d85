"""Operations on a whole installation (the data folder and the store together): backups and restores.

Above the importer (it takes the importer's locks) and below the command line and the screens.
"""
