"""Transfer bundles and the archives they travel in.

``archive`` is the one reader of tar, tar.gz and 7z archives that every command uses: members
are read in memory within a size budget, never extracted, and anything unsafe is refused.
"""
