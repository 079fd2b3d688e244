// SPDX-License-Identifier: GPL-2.0
/*
 * dwbuf - descriptor buffer manager (kleak lab test driver)
 *
 * A second leaking module for the kleak board lab, written the way vendor
 * drivers are: helpers called *_alloc_*, *_create, *_get_buf, an inline
 * kmalloc wrapper, a kmemdup, a devm_ allocation, and one function that
 * makes two allocator calls. kleak must blame the helper (never drop it as
 * "an allocator frame" because of its name), keep the two calls apart, and
 * say that the descriptors live in a cache of their own.
 *
 * Control: write "<what> <count>" to /sys/kernel/debug/dwbuf/ctl:
 *
 *   desc N   dwbuf_alloc_desc() N times: a struct dwbuf_desc (200 bytes)
 *            from our own cache "dwbuf_desc" plus a kmalloc(96) payload
 *   ring N   dwbuf_ring_create() N times: kcalloc(64, 8)
 *   buf N    dwbuf_get_buf() N times: 1000 bytes via dwbuf_zmalloc(), an
 *            inline kzalloc wrapper
 *   cfg N    dwbuf_save_cfg() N times: kmemdup() of a 1500-byte table
 *   child N  dwbuf_attach_child() N times: a platform device with a devm_
 *            allocation, dropped on a (simulated) error path without
 *            platform_device_put()
 *
 * Every one of them is lost on purpose. Builds on 6.1 and 6.12.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#define DWBUF_DESC_SIZE		200
#define DWBUF_PAYLOAD_SIZE	96
#define DWBUF_RING_SLOTS	64
#define DWBUF_BUF_SIZE		1000
#define DWBUF_CFG_SIZE		1500
#define DWBUF_CHILD_PRIV	48

struct dwbuf_desc {
	u32 seq;
	u32 flags;
	void *payload;
	u8 pad[DWBUF_DESC_SIZE - 16];
};

static_assert(sizeof(struct dwbuf_desc) == DWBUF_DESC_SIZE);

struct dwbuf {
	struct kmem_cache *desc_cache;
	struct dentry *dir;
	u8 cfg[DWBUF_CFG_SIZE];
	unsigned long lost[5];
	unsigned int seq;
};

static struct dwbuf dwbuf;

/* Vendor code wraps kzalloc like this; the wrapper is inlined into callers. */
static inline void *dwbuf_zmalloc(size_t len)
{
	return kzalloc(len, GFP_KERNEL);
}

/*
 * Two allocator calls in one function: the descriptor from our own cache,
 * its payload from kmalloc. Two allocation sites, two leaks.
 */
static noinline struct dwbuf_desc *dwbuf_alloc_desc(struct dwbuf *db)
{
	struct dwbuf_desc *desc;

	desc = kmem_cache_zalloc(db->desc_cache, GFP_KERNEL);
	if (!desc)
		return NULL;

	desc->seq = db->seq++;
	desc->payload = kmalloc(DWBUF_PAYLOAD_SIZE, GFP_KERNEL);
	if (!desc->payload) {
		kmem_cache_free(db->desc_cache, desc);
		return NULL;
	}
	memset(desc->payload, 0x5a, DWBUF_PAYLOAD_SIZE);
	return desc;
}

static noinline void **dwbuf_ring_create(struct dwbuf *db)
{
	return kcalloc(DWBUF_RING_SLOTS, sizeof(void *), GFP_KERNEL);
}

static noinline void *dwbuf_get_buf(struct dwbuf *db)
{
	u8 *buf = dwbuf_zmalloc(DWBUF_BUF_SIZE);

	if (buf)
		buf[0] = 0xdb;
	return buf;
}

static noinline void *dwbuf_save_cfg(struct dwbuf *db)
{
	return kmemdup(db->cfg, sizeof(db->cfg), GFP_KERNEL);
}

/* The bug: the error path forgets platform_device_put(). */
static noinline int dwbuf_attach_child(struct dwbuf *db)
{
	struct platform_device *pdev;
	void *priv;

	pdev = platform_device_alloc("dwbuf-child", PLATFORM_DEVID_NONE);
	if (!pdev)
		return -ENOMEM;

	priv = devm_kzalloc(&pdev->dev, DWBUF_CHILD_PRIV, GFP_KERNEL);
	if (!priv)
		return -ENOMEM;

	/* "probe failed": pretend the hardware did not answer */
	return -ENODEV;
}

enum { DW_DESC, DW_RING, DW_BUF, DW_CFG, DW_CHILD };

static const char *const dwbuf_cmds[] = {
	[DW_DESC] = "desc", [DW_RING] = "ring", [DW_BUF] = "buf",
	[DW_CFG] = "cfg", [DW_CHILD] = "child",
};

static int dwbuf_do(struct dwbuf *db, int what)
{
	switch (what) {
	case DW_DESC:
		return dwbuf_alloc_desc(db) ? 0 : -ENOMEM;
	case DW_RING:
		return dwbuf_ring_create(db) ? 0 : -ENOMEM;
	case DW_BUF:
		return dwbuf_get_buf(db) ? 0 : -ENOMEM;
	case DW_CFG:
		return dwbuf_save_cfg(db) ? 0 : -ENOMEM;
	case DW_CHILD:
		return dwbuf_attach_child(db) == -ENODEV ? 0 : -ENOMEM;
	}
	return -EINVAL;
}

static ssize_t dwbuf_ctl_write(struct file *file, const char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char cmd[32], word[8];
	unsigned int n, i;
	int what, ret;

	if (len >= sizeof(cmd))
		return -EINVAL;
	if (copy_from_user(cmd, ubuf, len))
		return -EFAULT;
	cmd[len] = '\0';
	if (sscanf(cmd, "%7s %u", word, &n) != 2)
		return -EINVAL;

	what = match_string(dwbuf_cmds, ARRAY_SIZE(dwbuf_cmds), word);
	if (what < 0)
		return what;

	for (i = 0; i < n; i++) {
		ret = dwbuf_do(&dwbuf, what);
		if (ret)
			return ret;
		dwbuf.lost[what]++;
	}
	return len;
}

static int dwbuf_stats_show(struct seq_file *m, void *v)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(dwbuf_cmds); i++)
		seq_printf(m, "%s %lu\n", dwbuf_cmds[i], dwbuf.lost[i]);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(dwbuf_stats);

static const struct file_operations dwbuf_ctl_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = dwbuf_ctl_write,
	.llseek = noop_llseek,
};

static int __init dwbuf_init(void)
{
	/* A usercopy region keeps SLUB from merging our cache into another. */
	dwbuf.desc_cache = kmem_cache_create_usercopy("dwbuf_desc", DWBUF_DESC_SIZE,
						      0, 0, 0, DWBUF_DESC_SIZE, NULL);
	if (!dwbuf.desc_cache)
		return -ENOMEM;

	memset(dwbuf.cfg, 0xc5, sizeof(dwbuf.cfg));
	dwbuf.dir = debugfs_create_dir("dwbuf", NULL);
	debugfs_create_file("ctl", 0200, dwbuf.dir, NULL, &dwbuf_ctl_fops);
	debugfs_create_file("stats", 0444, dwbuf.dir, NULL, &dwbuf_stats_fops);
	pr_info("ready\n");
	return 0;
}

static void __exit dwbuf_exit(void)
{
	debugfs_remove_recursive(dwbuf.dir);
	/* Leaked descriptors keep the cache alive, as in a real driver. */
	if (!dwbuf.lost[DW_DESC])
		kmem_cache_destroy(dwbuf.desc_cache);
}

module_init(dwbuf_init);
module_exit(dwbuf_exit);
MODULE_DESCRIPTION("Descriptor buffer manager that leaks (kleak board lab)");
MODULE_LICENSE("GPL");
