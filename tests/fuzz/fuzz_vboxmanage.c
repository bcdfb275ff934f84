/* drivers/vboxmanage.c: the answers of VBoxManage (showvminfo, list
 * hostonlyifs, list dhcpservers). */
#include "drivers/vboxmanage.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_str(data, size);
	char val[256], tiny[2], err[ERR_MAX];
	static const char *const keys[] = { "VMState", "Forwarding(0)", "hostonlyadapter2",
					    "UUID", "\"quoted\"", "" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (vbm_info_get(s, keys[i], val, sizeof(val)))
			vbm_state_of(val);
		vbm_info_get(s, keys[i], tiny, sizeof(tiny));
	}
	struct vbm_hostonly h[8];
	struct vbm_dhcp d[8];
	vbm_parse_hostonlyifs(s, h, 8, err);
	vbm_parse_hostonlyifs(s, h, 1, err);
	vbm_parse_dhcpservers(s, d, 8);
	vbm_parse_dhcpservers(s, d, 0);
	free(s);
	return 0;
}
