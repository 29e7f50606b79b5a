"""Use cases. Each public function runs inside one :class:`UnitOfWork`: all or nothing."""
