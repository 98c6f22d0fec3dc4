"""Use cases. Each public function checks permissions, runs in one transaction and audits."""
