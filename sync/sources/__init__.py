"""Where resources come from: per-service specs (declarative) and their generic fetcher."""
