/* SPDX-License-Identifier: MIT */
/*
 * The HTTPS certificate: the operator's (server.tls_certificate and
 * server.tls_key), or a self-signed pair generated with GnuTLS on first start
 * and kept in state_dir, so that a box answers HTTPS from its first boot and
 * browsers see the same certificate after a restart.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "daemon.h"
#include "http.h"
#include "log.h"

#define GENERATED_CERTIFICATE "tls-certificate.pem"
#define GENERATED_KEY         "tls-key.pem"
#define VALID_DAYS            825
#define RENEW_DAYS            30

/* Name the file that cannot be read, before GIO's less specific error. */
static bool readable(const char *path, const char *what, const char *key)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		gb_error("cannot read the TLS %s %s (%s): %s", what, path, key, strerror(errno));
		return false;
	}
	close(fd);
	return true;
}

static GTlsCertificate *load_pair(const char *certificate_path, const char *key_path,
                                  const char *hint)
{
	g_autoptr(GError) error = NULL;
	GTlsCertificate *certificate;

	if (!readable(certificate_path, "certificate", hint) || !readable(key_path, "key", hint))
		return NULL;
	certificate = g_tls_certificate_new_from_files(certificate_path, key_path, &error);
	if (!certificate)
		gb_error("cannot use the TLS certificate %s with the key %s (%s): %s",
		         certificate_path, key_path, hint, error->message);
	return certificate;
}

static int add_address(gnutls_x509_crt_t crt, GInetAddress *address)
{
	if (g_inet_address_get_is_any(address) || g_inet_address_get_is_link_local(address))
		return 0;
	return gnutls_x509_crt_set_subject_alt_name(
	        crt, GNUTLS_SAN_IPADDRESS, g_inet_address_to_bytes(address),
	        (unsigned)g_inet_address_get_native_size(address), GNUTLS_FSAN_APPEND);
}

/* Names a browser may use for this box: its host name, localhost, its addresses. */
static int add_names(gnutls_x509_crt_t crt, GInetAddress *listen_address)
{
	const char *host = g_get_host_name();
	g_autoptr(GInetAddress) loopback4 = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
	g_autoptr(GInetAddress) loopback6 = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV6);
	struct ifaddrs *list = NULL;
	int r;

	r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, host,
	                                         (unsigned)strlen(host), GNUTLS_FSAN_APPEND);
	if (r == 0 && strcmp(host, "localhost") != 0)
		r = gnutls_x509_crt_set_subject_alt_name(crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
		                                         GNUTLS_FSAN_APPEND);
	if (r == 0)
		r = add_address(crt, loopback4);
	if (r == 0)
		r = add_address(crt, loopback6);
	if (r < 0)
		return r;
	if (!g_inet_address_get_is_any(listen_address)) {
		if (g_inet_address_get_is_loopback(listen_address))
			return 0;
		return add_address(crt, listen_address);
	}
	/* Listening everywhere: every address this box has now. */
	if (getifaddrs(&list) < 0)
		return 0;
	for (struct ifaddrs *item = list; item && r == 0; item = item->ifa_next) {
		g_autoptr(GSocketAddress) socket_address = NULL;

		if (!item->ifa_addr || (item->ifa_addr->sa_family != AF_INET &&
		                        item->ifa_addr->sa_family != AF_INET6))
			continue;
		socket_address = g_socket_address_new_from_native(
		        item->ifa_addr, item->ifa_addr->sa_family == AF_INET
		                                ? sizeof(struct sockaddr_in)
		                                : sizeof(struct sockaddr_in6));
		if (!socket_address || !G_IS_INET_SOCKET_ADDRESS(socket_address))
			continue;
		GInetAddress *address =
		        g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(socket_address));
		if (!g_inet_address_get_is_loopback(address))
			r = add_address(crt, address);
	}
	freeifaddrs(list);
	return r;
}

static bool write_private_file(const char *path, const gnutls_datum_t *data)
{
	g_autoptr(GError) error = NULL;

	if (!g_file_set_contents_full(path, (const char *)data->data, data->size,
	                              G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
	                              0600, &error)) {
		gb_error("cannot write %s: %s", path, error->message);
		return false;
	}
	return true;
}

static bool generate_pair(const char *certificate_path, const char *key_path,
                          GInetAddress *listen_address)
{
	gnutls_x509_privkey_t key = NULL;
	gnutls_x509_crt_t crt = NULL;
	gnutls_datum_t key_pem = { NULL, 0 }, crt_pem = { NULL, 0 };
	unsigned char serial[16], key_id[64];
	size_t key_id_size = sizeof(key_id);
	const char *host = g_get_host_name();
	time_t now = time(NULL);
	bool ok = false;
	int r;

	r = gb_random_bytes(serial, sizeof(serial));
	if (r < 0) {
		gb_error("cannot get random bytes for a certificate serial: %s", strerror(-r));
		return false;
	}
	serial[0] &= 0x7f; /* a positive INTEGER */

	r = gnutls_x509_privkey_init(&key);
	if (r == 0)
		r = gnutls_x509_privkey_generate(
		        key, GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS(GNUTLS_ECC_CURVE_SECP256R1), 0);
	if (r == 0)
		r = gnutls_x509_crt_init(&crt);
	if (r == 0)
		r = gnutls_x509_crt_set_version(crt, 3);
	if (r == 0)
		r = gnutls_x509_crt_set_serial(crt, serial, sizeof(serial));
	if (r == 0)
		r = gnutls_x509_crt_set_activation_time(crt, now - 3600);
	if (r == 0)
		r = gnutls_x509_crt_set_expiration_time(crt, now + (time_t)VALID_DAYS * 86400);
	if (r == 0)
		r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, host,
		                                  (unsigned)MIN(strlen(host), 64));
	if (r == 0)
		r = gnutls_x509_crt_set_dn_by_oid(crt, GNUTLS_OID_X520_ORGANIZATION_NAME, 0,
		                                  "Glassbox (self-signed)", 22);
	if (r == 0)
		r = gnutls_x509_crt_set_key(crt, key);
	if (r == 0)
		r = add_names(crt, listen_address);
	if (r == 0)
		r = gnutls_x509_crt_set_basic_constraints(crt, 0, -1);
	if (r == 0)
		r = gnutls_x509_crt_set_key_usage(crt, GNUTLS_KEY_DIGITAL_SIGNATURE);
	if (r == 0)
		r = gnutls_x509_crt_set_key_purpose_oid(crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
	if (r == 0)
		r = gnutls_x509_crt_get_key_id(crt, 0, key_id, &key_id_size);
	if (r == 0)
		r = gnutls_x509_crt_set_subject_key_id(crt, key_id, key_id_size);
	if (r == 0)
		r = gnutls_x509_crt_sign2(crt, crt, key, GNUTLS_DIG_SHA256, 0);
	if (r == 0)
		r = gnutls_x509_privkey_export2_pkcs8(key, GNUTLS_X509_FMT_PEM, NULL,
		                                      GNUTLS_PKCS_PLAIN, &key_pem);
	if (r == 0)
		r = gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_PEM, &crt_pem);
	if (r < 0) {
		gb_error("cannot generate a self-signed certificate: %s", gnutls_strerror(r));
		goto out;
	}
	/* The key first: a certificate without its key is never left behind. */
	if (!write_private_file(key_path, &key_pem) ||
	    !write_private_file(certificate_path, &crt_pem))
		goto out;
	gb_info("generated a self-signed certificate for %s: %s (key %s); set "
	        "server.tls_certificate and server.tls_key to use your own",
	        host, certificate_path, key_path);
	ok = true;
out:
	if (key_pem.data) {
		gnutls_memset(key_pem.data, 0, key_pem.size);
		gnutls_free(key_pem.data);
	}
	gnutls_free(crt_pem.data);
	if (crt)
		gnutls_x509_crt_deinit(crt);
	if (key)
		gnutls_x509_privkey_deinit(key);
	return ok;
}

static bool expires_soon(GTlsCertificate *certificate)
{
	g_autoptr(GDateTime) not_after = g_tls_certificate_get_not_valid_after(certificate);
	g_autoptr(GDateTime) now = g_date_time_new_now_utc();

	return not_after &&
	       g_date_time_difference(not_after, now) < (GTimeSpan)RENEW_DAYS * G_TIME_SPAN_DAY;
}

GTlsCertificate *gb_tls_load_certificate(const struct gb_config *config,
                                         GInetAddress *listen_address)
{
	const struct gb_server_config *server = &config->server;
	g_autofree char *certificate_path = NULL;
	g_autofree char *key_path = NULL;
	GTlsCertificate *certificate;
	bool have_certificate, have_key;

	if (server->tls_certificate[0])
		return load_pair(server->tls_certificate, server->tls_key,
		                 "server.tls_certificate, server.tls_key");

	certificate_path = g_build_filename(server->state_dir, GENERATED_CERTIFICATE, NULL);
	key_path = g_build_filename(server->state_dir, GENERATED_KEY, NULL);
	have_certificate = access(certificate_path, F_OK) == 0;
	have_key = access(key_path, F_OK) == 0;
	if (have_certificate && have_key) {
		certificate = load_pair(certificate_path, key_path,
		                        "generated in server.state_dir; delete both files to "
		                        "generate a new pair");
		if (!certificate || !expires_soon(certificate))
			return certificate;
		gb_info("the self-signed certificate %s expires within %d days; making a new one",
		        certificate_path, RENEW_DAYS);
		g_object_unref(certificate);
	} else if (have_certificate || have_key) {
		gb_warning("%s is missing; generating a new certificate and key",
		           have_certificate ? key_path : certificate_path);
	}
	if (!generate_pair(certificate_path, key_path, listen_address))
		return NULL;
	return load_pair(certificate_path, key_path, "generated in server.state_dir");
}
