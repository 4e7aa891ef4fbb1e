/* A shared library that is not a naasc plugin: it lacks naasc_plugin_info. */
int not_a_plugin(void);
int not_a_plugin(void) { return 42; }
