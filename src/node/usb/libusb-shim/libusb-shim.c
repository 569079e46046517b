/*
 * A stand-in for the part of libusb-1.0 that dfu-util uses, loaded with LD_PRELOAD so a real,
 * unmodified dfu-util drives webprog's simulated USB devices instead of the host's USB bus.
 *
 * Every call becomes a request on a Unix stream socket (path in $WEBPROG_USB_SOCKET) to a Node
 * process that hosts the simulator behind webprog's in-memory USB pipe (src/node/usb/sim-host.ts).
 * This file only carries bytes: descriptors are whatever the simulator serves, and it parses the
 * configuration descriptor into libusb's structures the way libusb documents them (class-specific
 * descriptors after an interface descriptor become that alternate setting's `extra`).
 *
 * Wire format, little-endian: request  u32 length, u8 op, payload;
 *                             response u32 length, i32 status, payload.
 *
 * Set WEBPROG_USB_SHIM_TRACE=1 to print every call on stderr.
 */
#include <errno.h>
#include <libusb.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { OP_LIST = 1, OP_OPEN, OP_CLOSE, OP_CLAIM, OP_RELEASE, OP_SET_ALT, OP_CONTROL, OP_RESET };

struct libusb_context {
	int fd;
};

struct libusb_device {
	int refs;
	uint8_t index, bus, address, port;
	uint8_t device_descriptor[18];
	uint8_t *config;
	int config_length;
};

struct libusb_device_handle {
	struct libusb_device *dev;
};

static int sock = -1;
static int trace;

#define TRACE(...) do { if (trace) fprintf(stderr, "[libusb-shim] " __VA_ARGS__); } while (0)

static int write_all(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	while (n > 0) {
		ssize_t w = write(sock, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n > 0) {
		ssize_t r = read(sock, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = v & 0xff; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p) { return get16(p) | ((uint32_t)get16(p + 2) << 16); }

/*
 * One request/response round. `reply` (may be NULL) receives up to `reply_max` payload bytes;
 * `*reply_length` is set to what came. Returns the host's status, or LIBUSB_ERROR_NO_DEVICE when
 * the host is gone.
 */
static int call(uint8_t op, const uint8_t *payload, uint32_t length, uint8_t *reply, uint32_t reply_max, uint32_t *reply_length)
{
	uint8_t head[5];
	uint8_t rhead[8];
	uint32_t rlen;
	int32_t status;

	if (sock < 0)
		return LIBUSB_ERROR_NO_DEVICE;
	put32(head, length + 1);
	head[4] = op;
	if (write_all(head, sizeof head) || (length && write_all(payload, length)) || read_all(rhead, sizeof rhead))
		return LIBUSB_ERROR_NO_DEVICE;
	rlen = get32(rhead) - 4;
	status = (int32_t)get32(rhead + 4);
	if (reply_length)
		*reply_length = rlen;
	while (rlen > 0) {
		uint8_t scratch[256];
		uint32_t take;
		if (reply && reply_max > 0) {
			take = rlen < reply_max ? rlen : reply_max;
			if (read_all(reply, take))
				return LIBUSB_ERROR_NO_DEVICE;
			reply += take;
			reply_max -= take;
		} else {
			take = rlen < sizeof scratch ? rlen : sizeof scratch;
			if (read_all(scratch, take))
				return LIBUSB_ERROR_NO_DEVICE;
		}
		rlen -= take;
	}
	return status;
}

int libusb_init(libusb_context **ctx)
{
	const char *path = getenv("WEBPROG_USB_SOCKET");
	struct sockaddr_un addr;

	trace = getenv("WEBPROG_USB_SHIM_TRACE") != NULL;
	if (!path || strlen(path) >= sizeof addr.sun_path) {
		fprintf(stderr, "libusb-shim: set WEBPROG_USB_SOCKET to the simulator host's socket\n");
		return LIBUSB_ERROR_OTHER;
	}
	if (sock < 0) {
		sock = socket(AF_UNIX, SOCK_STREAM, 0);
		memset(&addr, 0, sizeof addr);
		addr.sun_family = AF_UNIX;
		strcpy(addr.sun_path, path);
		if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
			fprintf(stderr, "libusb-shim: cannot connect to %s: %s\n", path, strerror(errno));
			if (sock >= 0)
				close(sock);
			sock = -1;
			return LIBUSB_ERROR_OTHER;
		}
	}
	if (ctx) {
		*ctx = calloc(1, sizeof **ctx);
		(*ctx)->fd = sock;
	}
	TRACE("init %s\n", path);
	return 0;
}

void libusb_exit(libusb_context *ctx)
{
	TRACE("exit\n");
	free(ctx);
	if (sock >= 0)
		close(sock);
	sock = -1;
}

int libusb_set_option(libusb_context *ctx, enum libusb_option option, ...)
{
	(void)ctx;
	(void)option;
	return 0;
}

const struct libusb_version *libusb_get_version(void)
{
	static const struct libusb_version v = { 1, 0, 26, 0, "-webprog-shim", "https://libusb.info" };
	return &v;
}

const char *libusb_error_name(int code)
{
	switch (code) {
	case LIBUSB_SUCCESS: return "LIBUSB_SUCCESS";
	case LIBUSB_ERROR_IO: return "LIBUSB_ERROR_IO";
	case LIBUSB_ERROR_INVALID_PARAM: return "LIBUSB_ERROR_INVALID_PARAM";
	case LIBUSB_ERROR_ACCESS: return "LIBUSB_ERROR_ACCESS";
	case LIBUSB_ERROR_NO_DEVICE: return "LIBUSB_ERROR_NO_DEVICE";
	case LIBUSB_ERROR_NOT_FOUND: return "LIBUSB_ERROR_NOT_FOUND";
	case LIBUSB_ERROR_BUSY: return "LIBUSB_ERROR_BUSY";
	case LIBUSB_ERROR_TIMEOUT: return "LIBUSB_ERROR_TIMEOUT";
	case LIBUSB_ERROR_OVERFLOW: return "LIBUSB_ERROR_OVERFLOW";
	case LIBUSB_ERROR_PIPE: return "LIBUSB_ERROR_PIPE";
	case LIBUSB_ERROR_INTERRUPTED: return "LIBUSB_ERROR_INTERRUPTED";
	case LIBUSB_ERROR_NO_MEM: return "LIBUSB_ERROR_NO_MEM";
	case LIBUSB_ERROR_NOT_SUPPORTED: return "LIBUSB_ERROR_NOT_SUPPORTED";
	default: return "LIBUSB_ERROR_OTHER";
	}
}

/* LIST answers: count, then per device: bus, address, port, device descriptor (18), u16 length + configuration descriptor. */
ssize_t libusb_get_device_list(libusb_context *ctx, libusb_device ***list)
{
	static uint8_t buf[65536];
	uint32_t got = 0;
	int n = call(OP_LIST, NULL, 0, buf, sizeof buf, &got);
	uint32_t at = 0;
	int i;

	(void)ctx;
	if (n < 0)
		n = 0;
	*list = calloc((size_t)n + 1, sizeof **list);
	for (i = 0; i < n && at + 23 <= got; i++) {
		libusb_device *d = calloc(1, sizeof *d);
		d->refs = 1;
		d->index = (uint8_t)i;
		d->bus = buf[at];
		d->address = buf[at + 1];
		d->port = buf[at + 2];
		memcpy(d->device_descriptor, buf + at + 3, 18);
		d->config_length = get16(buf + at + 21);
		at += 23;
		if (at + (uint32_t)d->config_length > got)
			d->config_length = (int)(got - at);
		d->config = malloc((size_t)d->config_length + 1);
		memcpy(d->config, buf + at, (size_t)d->config_length);
		at += (uint32_t)d->config_length;
		(*list)[i] = d;
	}
	TRACE("get_device_list -> %d\n", i);
	return i;
}

libusb_device *libusb_ref_device(libusb_device *dev)
{
	dev->refs++;
	return dev;
}

void libusb_unref_device(libusb_device *dev)
{
	if (dev && --dev->refs == 0) {
		free(dev->config);
		free(dev);
	}
}

void libusb_free_device_list(libusb_device **list, int unref_devices)
{
	libusb_device **p;
	if (!list)
		return;
	if (unref_devices)
		for (p = list; *p; p++)
			libusb_unref_device(*p);
	free(list);
}

uint8_t libusb_get_bus_number(libusb_device *dev) { return dev->bus; }
uint8_t libusb_get_device_address(libusb_device *dev) { return dev->address; }

int libusb_get_port_numbers(libusb_device *dev, uint8_t *port_numbers, int port_numbers_len)
{
	if (port_numbers_len < 1)
		return LIBUSB_ERROR_OVERFLOW;
	port_numbers[0] = dev->port;
	return 1;
}

int libusb_get_device_descriptor(libusb_device *dev, struct libusb_device_descriptor *desc)
{
	const uint8_t *d = dev->device_descriptor;
	desc->bLength = d[0];
	desc->bDescriptorType = d[1];
	desc->bcdUSB = get16(d + 2);
	desc->bDeviceClass = d[4];
	desc->bDeviceSubClass = d[5];
	desc->bDeviceProtocol = d[6];
	desc->bMaxPacketSize0 = d[7];
	desc->idVendor = get16(d + 8);
	desc->idProduct = get16(d + 10);
	desc->bcdDevice = get16(d + 12);
	desc->iManufacturer = d[14];
	desc->iProduct = d[15];
	desc->iSerialNumber = d[16];
	desc->bNumConfigurations = d[17];
	return 0;
}

/* Appends one descriptor to an owner's `extra` bytes. */
static void add_extra(const unsigned char **extra, int *extra_length, const uint8_t *desc, int length)
{
	unsigned char *grown = realloc((void *)*extra, (size_t)*extra_length + (size_t)length);
	memcpy(grown + *extra_length, desc, (size_t)length);
	*extra = grown;
	*extra_length += length;
}

#define MAX_INTERFACES 32

int libusb_get_config_descriptor(libusb_device *dev, uint8_t config_index, struct libusb_config_descriptor **config)
{
	const uint8_t *buf = dev->config;
	int total, p, i;
	int nif = 0;
	uint8_t numbers[MAX_INTERFACES];
	int alts[MAX_INTERFACES] = { 0 };
	struct libusb_config_descriptor *c;
	struct libusb_interface *ifs;
	struct libusb_interface_descriptor *cur = NULL;
	struct libusb_endpoint_descriptor *cur_ep = NULL;
	int declared_endpoints = 0;

	if (config_index != 0 || dev->config_length < 9 || buf[1] != LIBUSB_DT_CONFIG)
		return LIBUSB_ERROR_NOT_FOUND;
	total = get16(buf + 2);
	if (total > dev->config_length)
		total = dev->config_length;

	/* First pass: which interfaces, and how many alternate settings each. */
	for (p = buf[0]; p + 2 <= total && buf[p] >= 2; p += buf[p]) {
		if (buf[p + 1] != LIBUSB_DT_INTERFACE || buf[p] < 9)
			continue;
		for (i = 0; i < nif && numbers[i] != buf[p + 2]; i++)
			;
		if (i == nif) {
			if (nif == MAX_INTERFACES)
				return LIBUSB_ERROR_IO;
			numbers[nif++] = buf[p + 2];
		}
		alts[i]++;
	}

	c = calloc(1, sizeof *c);
	c->bLength = buf[0];
	c->bDescriptorType = buf[1];
	c->wTotalLength = (uint16_t)total;
	c->bNumInterfaces = (uint8_t)nif;
	c->bConfigurationValue = buf[5];
	c->iConfiguration = buf[6];
	c->bmAttributes = buf[7];
	c->MaxPower = buf[8];
	ifs = calloc((size_t)nif + 1, sizeof *ifs);
	c->interface = ifs;
	for (i = 0; i < nif; i++)
		ifs[i].altsetting = calloc((size_t)alts[i], sizeof(struct libusb_interface_descriptor));

	/* Second pass: fill them; other descriptors go to the `extra` of what they follow. */
	for (p = buf[0]; p + 2 <= total && buf[p] >= 2; p += buf[p]) {
		const uint8_t *d = buf + p;
		int length = d[0];
		if (p + length > total)
			length = total - p;
		if (d[1] == LIBUSB_DT_INTERFACE && length >= 9) {
			struct libusb_interface *intf;
			for (i = 0; numbers[i] != d[2]; i++)
				;
			intf = &ifs[i];
			cur = (struct libusb_interface_descriptor *)&intf->altsetting[intf->num_altsetting++];
			cur_ep = NULL;
			cur->bLength = d[0];
			cur->bDescriptorType = d[1];
			cur->bInterfaceNumber = d[2];
			cur->bAlternateSetting = d[3];
			cur->bNumEndpoints = 0;
			cur->bInterfaceClass = d[5];
			cur->bInterfaceSubClass = d[6];
			cur->bInterfaceProtocol = d[7];
			cur->iInterface = d[8];
			cur->endpoint = calloc((size_t)d[4] + 1, sizeof(struct libusb_endpoint_descriptor));
			cur->extra = NULL;
			cur->extra_length = 0;
			declared_endpoints = d[4];
		} else if (d[1] == LIBUSB_DT_ENDPOINT && length >= 7 && cur && cur->bNumEndpoints < declared_endpoints) {
			struct libusb_endpoint_descriptor *ep = (struct libusb_endpoint_descriptor *)cur->endpoint;
			cur_ep = &ep[cur->bNumEndpoints++];
			cur_ep->bLength = d[0];
			cur_ep->bDescriptorType = d[1];
			cur_ep->bEndpointAddress = d[2];
			cur_ep->bmAttributes = d[3];
			cur_ep->wMaxPacketSize = get16(d + 4);
			cur_ep->bInterval = d[6];
		} else if (cur_ep) {
			add_extra(&cur_ep->extra, &cur_ep->extra_length, d, length);
		} else if (cur) {
			add_extra(&cur->extra, &cur->extra_length, d, length);
		} else {
			add_extra(&c->extra, &c->extra_length, d, length);
		}
	}
	*config = c;
	return 0;
}

void libusb_free_config_descriptor(struct libusb_config_descriptor *config)
{
	int i, j, k;
	if (!config)
		return;
	for (i = 0; i < config->bNumInterfaces; i++) {
		const struct libusb_interface *intf = &config->interface[i];
		for (j = 0; j < intf->num_altsetting; j++) {
			const struct libusb_interface_descriptor *alt = &intf->altsetting[j];
			for (k = 0; k < alt->bNumEndpoints; k++)
				free((void *)alt->endpoint[k].extra);
			free((void *)alt->endpoint);
			free((void *)alt->extra);
		}
		free((void *)intf->altsetting);
	}
	free((void *)config->interface);
	free((void *)config->extra);
	free(config);
}

int libusb_open(libusb_device *dev, libusb_device_handle **handle)
{
	uint8_t p = dev->index;
	int r = call(OP_OPEN, &p, 1, NULL, 0, NULL);
	TRACE("open -> %d\n", r);
	if (r < 0)
		return r;
	*handle = calloc(1, sizeof **handle);
	(*handle)->dev = libusb_ref_device(dev);
	return 0;
}

void libusb_close(libusb_device_handle *handle)
{
	uint8_t p;
	if (!handle)
		return;
	p = handle->dev->index;
	call(OP_CLOSE, &p, 1, NULL, 0, NULL);
	TRACE("close\n");
	libusb_unref_device(handle->dev);
	free(handle);
}

static int simple(uint8_t op, libusb_device_handle *h, int a, int b)
{
	uint8_t p[3] = { h->dev->index, (uint8_t)a, (uint8_t)b };
	return call(op, p, sizeof p, NULL, 0, NULL);
}

int libusb_claim_interface(libusb_device_handle *h, int interface_number)
{
	int r = simple(OP_CLAIM, h, interface_number, 0);
	TRACE("claim %d -> %d\n", interface_number, r);
	return r;
}

int libusb_release_interface(libusb_device_handle *h, int interface_number)
{
	return simple(OP_RELEASE, h, interface_number, 0);
}

int libusb_set_interface_alt_setting(libusb_device_handle *h, int interface_number, int alternate_setting)
{
	int r = simple(OP_SET_ALT, h, interface_number, alternate_setting);
	TRACE("set_alt %d/%d -> %d\n", interface_number, alternate_setting, r);
	return r;
}

int libusb_reset_device(libusb_device_handle *h)
{
	int r = simple(OP_RESET, h, 0, 0);
	TRACE("reset -> %d\n", r);
	return r;
}

int libusb_control_transfer(libusb_device_handle *h, uint8_t bmRequestType, uint8_t bRequest, uint16_t wValue,
			    uint16_t wIndex, unsigned char *data, uint16_t wLength, unsigned int timeout)
{
	/* index, bmRequestType, bRequest, wValue, wIndex, wLength, timeout (u32), then the OUT data stage */
	int in = (bmRequestType & LIBUSB_ENDPOINT_IN) != 0;
	uint32_t out_length = in ? 0 : wLength;
	uint8_t *req = malloc(13 + (size_t)out_length);
	uint32_t got = 0;
	int r;

	req[0] = h->dev->index;
	req[1] = bmRequestType;
	req[2] = bRequest;
	put16(req + 3, wValue);
	put16(req + 5, wIndex);
	put16(req + 7, wLength);
	put32(req + 9, timeout);
	if (out_length)
		memcpy(req + 13, data, out_length);
	r = call(OP_CONTROL, req, 13 + out_length, in ? data : NULL, in ? wLength : 0, &got);
	free(req);
	TRACE("control %02x %02x %04x %04x len %u -> %d\n", bmRequestType, bRequest, wValue, wIndex, wLength, r);
	return r;
}
