// The D-Bus library, absent on purpose.
//
// The helper links libpcap statically (Package.swift) so that the privileged
// process loads no D-Bus, systemd, gcrypt or compression library: Debian's
// libpcap.so pulls in seven of them only for its `dbus-system`/`dbus-session`
// capture sources. Those sources are refused before libpcap sees a device name
// (`InterfaceName` in SwiftcapWire, `LiveCapture.checkDevice` in the helper), and
// with these definitions libpcap's D-Bus backend could not connect even if it were
// reached: every call fails (NULL or FALSE) and touches nothing. Besides the smaller
// attack surface, the helper starts about 3 ms faster (`bench/RESULTS.md`,
// open-to-ready). The names and argument lists are those of libdbus 1.x that
// libpcap 1.10's pcap-dbus.c calls; the types are opaque here because the helper
// never builds a D-Bus value.
#include <stddef.h>
#include <stdint.h>

typedef struct DBusConnection DBusConnection;
typedef struct DBusMessage DBusMessage;
typedef struct DBusError DBusError;
typedef uint32_t dbus_bool_t;

DBusConnection *dbus_bus_get(int type, DBusError *error) { (void)type; (void)error; return NULL; }
DBusConnection *dbus_connection_open(const char *address, DBusError *error) { (void)address; (void)error; return NULL; }
dbus_bool_t dbus_bus_register(DBusConnection *c, DBusError *error) { (void)c; (void)error; return 0; }
void dbus_bus_add_match(DBusConnection *c, const char *rule, DBusError *error) { (void)c; (void)rule; (void)error; }
void dbus_connection_flush(DBusConnection *c) { (void)c; }
DBusMessage *dbus_connection_pop_message(DBusConnection *c) { (void)c; return NULL; }
dbus_bool_t dbus_connection_read_write(DBusConnection *c, int timeout) { (void)c; (void)timeout; return 0; }
dbus_bool_t dbus_connection_send(DBusConnection *c, DBusMessage *m, uint32_t *serial) { (void)c; (void)m; (void)serial; return 0; }
void dbus_connection_set_max_received_size(DBusConnection *c, long size) { (void)c; (void)size; }
void dbus_connection_unref(DBusConnection *c) { (void)c; }
void dbus_error_free(DBusError *error) { (void)error; }
dbus_bool_t dbus_error_is_set(const DBusError *error) { (void)error; return 0; }
void dbus_free(void *memory) { (void)memory; }
DBusMessage *dbus_message_demarshal(const char *s, int len, DBusError *error) { (void)s; (void)len; (void)error; return NULL; }
dbus_bool_t dbus_message_is_signal(DBusMessage *m, const char *iface, const char *name) { (void)m; (void)iface; (void)name; return 0; }
dbus_bool_t dbus_message_marshal(DBusMessage *m, char **out, int *len) { (void)m; if (out) *out = NULL; if (len) *len = 0; return 0; }
void dbus_message_unref(DBusMessage *m) { (void)m; }
