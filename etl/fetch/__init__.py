"""The fetch stage: bytes from files and feeds -> RawItem (or ItemError), nothing normalized."""
