"""Register every pathsr module and set the default scope."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import all pathsr packages so that their registry entries exist.

    Configs built by the runner do not need this (the registries import their
    ``locations`` lazily); library users who build modules by hand do.

    Args:
        init_default_scope: Also make ``'pathsr'`` the current default scope.
    """
    import pathsr.datasets  # noqa: F401,F811
    import pathsr.engine  # noqa: F401,F811
    import pathsr.evaluation  # noqa: F401,F811
    import pathsr.models  # noqa: F401,F811
    import pathsr.visualization  # noqa: F401,F811

    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None or not DefaultScope.check_instance_created('pathsr'):
        DefaultScope.get_instance('pathsr', scope_name='pathsr')
    elif current.scope_name != 'pathsr':
        warnings.warn(f'The current default scope "{current.scope_name}" is '
                      'not "pathsr"; a new scope "pathsr" is made current.')
        name = f'pathsr-{datetime.datetime.now():%Y%m%d-%H%M%S%f}'
        DefaultScope.get_instance(name, scope_name='pathsr')
