"""Blueprints: thin HTTP layer. Each file is one blueprint; its URL prefix is set here."""
from flask import Flask


def register_blueprints(app: Flask) -> None:
    from routes.converters import register_converters

    register_converters(app)  # before the rules: they bind their converters when added
    from routes.dataset_pages import bp as dataset_pages_bp
    from routes.datasets import bp as datasets_bp
    from routes.errors import bp as errors_bp
    from routes.exports import bp as exports_bp
    from routes.models import bp as models_bp
    from routes.pages import bp as pages_bp
    from routes.prompt_templates import bp as prompt_templates_bp
    from routes.rewards import bp as rewards_bp
    from routes.system import bp as system_bp
    from routes.training import bp as training_bp
    from routes.configs import bp as configs_bp
    from routes.session_pages import bp as session_pages_bp
    from routes.sessions import bp as sessions_bp
    from routes.wizard import bp as wizard_bp
    from routes.api_v1.jobs import bp as api_v1_jobs_bp
    from routes.methods import bp as methods_bp
    from routes.rag import bp as rag_bp
    from routes.login import bp as login_bp
    from routes.auth import bp as auth_bp
    from routes.auth_pages import bp as auth_pages_bp
    from routes.admin import bp as admin_bp
    from routes.admin_pages import bp as admin_pages_bp
    from routes.registry import bp as registry_bp
    from routes.dashboard import bp as dashboard_bp
    from routes.registry_compare import bp as registry_compare_bp
    from routes.model_pages import bp as model_pages_bp
    from routes.deploy import bp as deploy_bp
    from routes.openai_v1 import bp as openai_v1_bp
    from routes.projects import bp as projects_bp
    from routes.project_pages import bp as project_pages_bp
    from routes.settings import bp as settings_bp
    from routes.settings_pages import bp as settings_pages_bp
    from routes.api_docs import bp as api_docs_bp

    app.register_blueprint(errors_bp)
    app.register_blueprint(login_bp)
    app.register_blueprint(auth_bp, url_prefix="/api/auth")
    app.register_blueprint(auth_pages_bp)
    app.register_blueprint(admin_bp, url_prefix="/api/admin")
    app.register_blueprint(admin_pages_bp)
    app.register_blueprint(settings_bp, url_prefix="/api/settings")
    app.register_blueprint(settings_pages_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(system_bp, url_prefix="/api/system")
    app.register_blueprint(models_bp, url_prefix="/api/models")
    app.register_blueprint(registry_bp, url_prefix="/api/registry")
    app.register_blueprint(dashboard_bp, url_prefix="/api/dashboard")
    app.register_blueprint(registry_compare_bp, url_prefix="/api/registry")
    app.register_blueprint(model_pages_bp)
    app.register_blueprint(deploy_bp, url_prefix="/api/registry")
    app.register_blueprint(openai_v1_bp, url_prefix="/v1")
    app.register_blueprint(projects_bp, url_prefix="/api/projects")
    app.register_blueprint(project_pages_bp)
    app.register_blueprint(dataset_pages_bp)
    app.register_blueprint(datasets_bp, url_prefix="/api/datasets")
    app.register_blueprint(prompt_templates_bp, url_prefix="/api/prompt-templates")
    app.register_blueprint(training_bp, url_prefix="/api/training")
    app.register_blueprint(rewards_bp, url_prefix="/api/rewards")
    app.register_blueprint(wizard_bp, url_prefix="/api/wizard")
    app.register_blueprint(configs_bp, url_prefix="/api/configs")
    app.register_blueprint(sessions_bp, url_prefix="/api/sessions")
    app.register_blueprint(session_pages_bp)
    app.register_blueprint(exports_bp, url_prefix="/api/exports")
    app.register_blueprint(methods_bp, url_prefix="/api/training")
    app.register_blueprint(rag_bp, url_prefix="/api/rag")
    app.register_blueprint(api_v1_jobs_bp, url_prefix="/api/v1/jobs")
    app.register_blueprint(api_docs_bp, url_prefix="/api")
