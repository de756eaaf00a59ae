"""Flask extensions, created unbound and bound to an app in ``create_app``."""
from flask_migrate import Migrate
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base for every typed model of the app."""


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
socketio = SocketIO()
