"""The reward sandbox: user reward code and code-execution rewards run here, never in the server or trainer."""
from core.sandbox.host import Sandbox, SandboxUnavailable, close_all, shared_sandbox
from core.sandbox.isolation import Isolation, isolation

__all__ = ["Isolation", "Sandbox", "SandboxUnavailable", "close_all", "isolation", "shared_sandbox"]
