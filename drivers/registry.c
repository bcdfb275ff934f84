/* The compile-time driver registry. A driver built without its library
 * is left out here and simply absent. */
#include "drivers/driver.h"

extern const struct machine_driver generic_driver;
extern const struct machine_driver none_driver;
extern const struct machine_driver virtualbox_driver;
extern const struct machine_driver qemu_driver;
extern const struct machine_driver digitalocean_driver;
extern const struct machine_driver amazonec2_driver;
extern const struct machine_driver google_driver;
extern const struct machine_driver azure_driver;
extern const struct machine_driver openstack_driver;
extern const struct machine_driver rackspace_driver;
extern const struct machine_driver softlayer_driver;
extern const struct machine_driver vmwarevsphere_driver;
extern const struct machine_driver exoscale_driver;
extern const struct machine_driver vmwarefusion_driver;
extern const struct machine_driver vmwarevcloudair_driver;

const struct machine_driver *const machine_drivers[] = {
	&generic_driver,
	&none_driver,
	&virtualbox_driver,
	&qemu_driver,
	&digitalocean_driver,
	&amazonec2_driver,
	&google_driver,
	&azure_driver,
	&openstack_driver,
	&rackspace_driver,
	&softlayer_driver,
	&vmwarevsphere_driver,
	&exoscale_driver,
	&vmwarefusion_driver,
	&vmwarevcloudair_driver,
	NULL,
};
