// SPDX-License-Identifier: GPL-2.0
/*
 * leaky: leaks kernel memory on demand, for the kleak board lab.
 *
 * Three kinds of leak, each from its own named, non-inlined, non-init
 * function so that kmemleak backtraces name it (init code is freed after
 * loading and would print as raw addresses):
 *
 *   leaky_cache_leak()    objects of our own slab cache "kleak_leaky"
 *                         (200-byte objects: no kmalloc cache has that size)
 *   leaky_heap_leak()     kmalloc(kmalloc_size) objects (kmalloc-<n> cache)
 *   leaky_pages_leak()    order-0 pages from alloc_pages(): kmemleak does not
 *                         track the page allocator, so only the unaccounted
 *                         memory figure can show these
 *
 * No name holds "alloc", "kmem", "slab" or "dup": leak reports (syzkaller's
 * titles, kleak's groups) drop such frames from the top of a backtrace as the
 * allocator's own, so a function called leaky_kmalloc_leak would never be
 * named.
 *
 * Module parameters (at load time):
 *   cache_objs=N kmalloc_objs=N kmalloc_size=S pages=N
 *   rate=N       leak N cache objects per second from a delayed work,
 *                until rmmod, until "0" is written to debugfs rate, or
 *                until rate_max objects (0: no limit)
 *   page_rate=N  leak N pages per second from the same work, until rmmod or
 *                until "0" is written to debugfs page_rate
 *   clean=1      allocate the same, but keep every object on a list and free
 *                it all at rmmod (or on a write to debugfs "free"): no leak
 *   cache_name=  name of the slab cache (default kleak_leaky)
 *
 * debugfs, /sys/kernel/debug/leaky/: write a number to "cache", "kmalloc",
 * "pages" to leak that many now, to "rate" or "page_rate" to change a steady
 * rate; write
 * anything to "free" to free held (clean) objects; read "stats".
 *
 * Unloading: when objects of our cache were leaked, leaky_exit() does not
 * call kmem_cache_destroy() (on 6.1 it would fail, WARN, print "Objects
 * remaining" and keep the cache anyway). The cache stays in /proc/slabinfo
 * with the leaked objects, as a real driver's leak would. Loading leaky again
 * in the same boot creates a second cache of the same name: /proc/slabinfo
 * then has two "kleak_leaky" rows (6.1 allows duplicate names; the new cache
 * takes over /sys/kernel/slab/kleak_leaky). Pass cache_name= to tell them
 * apart.
 *
 * Also: kmemleak symbolizes backtraces when its report is read. Once leaky
 * is unloaded its frames print as raw addresses (0xffffffc0...), so read the
 * report while the module is still loaded to see leaky_*_leak names.
 */
#include <linux/debugfs.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>

#define LEAKY_OBJ_SIZE 200
#define LEAKY_RATE_PERIOD_MS 100

/* Keep the leaking functions real, named, and unchanged by IPA clones. */
#if __has_attribute(__noipa__)
#define LEAKY_FN noinline __attribute__((__noipa__))
#else
#define LEAKY_FN noinline
#endif

/*
 * Our cache must not merge with another, not even with the kleak_leaky a
 * previous load left behind. A usercopy region prevents merging on 6.1; since
 * 6.9 only with CONFIG_HARDENED_USERCOPY, so SLAB_NO_MERGE (6.5+) too.
 */
#ifdef SLAB_NO_MERGE
#define LEAKY_NO_MERGE SLAB_NO_MERGE
#else
#define LEAKY_NO_MERGE 0
#endif

/* Global (not static) as before; declared, for 6.12's -Wmissing-prototypes. */
int leaky_cache_leak(unsigned int n);
int leaky_heap_leak(unsigned int n, size_t size);
int leaky_pages_leak(unsigned int n);

static char *cache_name = "kleak_leaky";
module_param(cache_name, charp, 0444);
MODULE_PARM_DESC(cache_name, "name of our slab cache");
static unsigned int cache_objs;
module_param(cache_objs, uint, 0444);
MODULE_PARM_DESC(cache_objs, "objects to leak from our cache at load");
static unsigned int kmalloc_objs;
module_param(kmalloc_objs, uint, 0444);
MODULE_PARM_DESC(kmalloc_objs, "kmalloc objects to leak at load");
static unsigned int kmalloc_size = 100;
module_param(kmalloc_size, uint, 0444);
MODULE_PARM_DESC(kmalloc_size, "size of each kmalloc leak (default 100: kmalloc-128)");
static unsigned int pages;
module_param(pages, uint, 0444);
MODULE_PARM_DESC(pages, "order-0 pages to leak at load");
static unsigned int rate;
module_param(rate, uint, 0444);
MODULE_PARM_DESC(rate, "cache objects leaked per second, steadily");
static unsigned int rate_max;
module_param(rate_max, uint, 0444);
MODULE_PARM_DESC(rate_max, "stop the steady leak after this many objects (0: never)");
static unsigned int page_rate;
module_param(page_rate, uint, 0444);
MODULE_PARM_DESC(page_rate, "pages leaked per second, steadily");
static bool clean;
module_param(clean, bool, 0444);
MODULE_PARM_DESC(clean, "hold and free everything at unload: leak nothing");

static struct kmem_cache *leaky_cache;
static char leaky_cache_name[64];	/* the name it got */
static struct dentry *leaky_dir;
static DEFINE_MUTEX(leaky_lock);	/* counters and held lists */
static LIST_HEAD(held_cache);
static LIST_HEAD(held_kmalloc);
static LIST_HEAD(held_pages);
static unsigned long n_cache, n_kmalloc, n_pages;	/* leaked */
static unsigned long n_held_cache, n_held_kmalloc, n_held_pages;
static unsigned long rate_start, rate_done;
static unsigned int rate_now;
static unsigned long page_rate_start, page_rate_done;
static unsigned int page_rate_now;
static struct delayed_work rate_work;

/* A recognizable object: kmemleak's hex dump shows its first 32 bytes. */
static void leaky_fill(void *p, size_t size, const char *what, unsigned long n)
{
	memset(p, 0x4c, size);
	if (size > sizeof(struct list_head) + 8)
		snprintf((char *)p + sizeof(struct list_head),
			 size - sizeof(struct list_head), "leaky %s #%lu", what, n);
}

LEAKY_FN int leaky_cache_leak(unsigned int n)
{
	unsigned int i;
	void *p;

	for (i = 0; i < n; i++) {
		p = kmem_cache_alloc(leaky_cache, GFP_KERNEL);
		if (!p)
			return -ENOMEM;
		leaky_fill(p, LEAKY_OBJ_SIZE, "cache", n_cache + n_held_cache);
		if (clean) {
			list_add(p, &held_cache);
			n_held_cache++;
		} else {
			n_cache++;
		}
	}
	return 0;
}

LEAKY_FN int leaky_heap_leak(unsigned int n, size_t size)
{
	unsigned int i;
	void *p;

	size = max_t(size_t, size, sizeof(struct list_head));
	for (i = 0; i < n; i++) {
		p = kmalloc(size, GFP_KERNEL);
		if (!p)
			return -ENOMEM;
		leaky_fill(p, size, "kmalloc", n_kmalloc + n_held_kmalloc);
		if (clean) {
			list_add(p, &held_kmalloc);
			n_held_kmalloc++;
		} else {
			n_kmalloc++;
		}
	}
	return 0;
}

LEAKY_FN int leaky_pages_leak(unsigned int n)
{
	struct page *page;
	unsigned int i;

	for (i = 0; i < n; i++) {
		page = alloc_pages(GFP_KERNEL, 0);
		if (!page)
			return -ENOMEM;
		memset(page_address(page), 0x50, PAGE_SIZE);
		if (clean) {
			list_add(&page->lru, &held_pages);
			n_held_pages++;
		} else {
			n_pages++;
		}
	}
	return 0;
}

static void leaky_free_held(void)
{
	struct list_head *pos, *tmp;
	struct page *page, *ptmp;

	list_for_each_safe(pos, tmp, &held_cache) {
		list_del(pos);
		kmem_cache_free(leaky_cache, pos);
	}
	list_for_each_safe(pos, tmp, &held_kmalloc) {
		list_del(pos);
		kfree(pos);
	}
	list_for_each_entry_safe(page, ptmp, &held_pages, lru) {
		list_del(&page->lru);
		__free_pages(page, 0);
	}
	n_held_cache = n_held_kmalloc = n_held_pages = 0;
}

/*
 * Leak rate_now cache objects and page_rate_now pages per second, in steps of
 * LEAKY_RATE_PERIOD_MS.
 */
static void leaky_rate_work(struct work_struct *work)
{
	unsigned long due;

	mutex_lock(&leaky_lock);
	if (rate_now) {
		due = (unsigned long)rate_now * jiffies_to_msecs(jiffies - rate_start) / 1000;
		if (rate_max && due > rate_max)
			due = rate_max;
		if (due > rate_done && !leaky_cache_leak(due - rate_done))
			rate_done = due;
		if (rate_max && rate_done >= rate_max)
			rate_now = 0;
	}
	if (page_rate_now) {
		due = (unsigned long)page_rate_now * jiffies_to_msecs(jiffies - page_rate_start) / 1000;
		if (due > page_rate_done && !leaky_pages_leak(due - page_rate_done))
			page_rate_done = due;
	}
	if (rate_now || page_rate_now)
		schedule_delayed_work(&rate_work, msecs_to_jiffies(LEAKY_RATE_PERIOD_MS));
	mutex_unlock(&leaky_lock);
}

/* Called with leaky_lock held. */
static void leaky_set_rate(unsigned int r)
{
	rate_now = r;
	rate_start = jiffies;
	rate_done = 0;
	if (r)
		mod_delayed_work(system_wq, &rate_work, msecs_to_jiffies(LEAKY_RATE_PERIOD_MS));
}

/* Called with leaky_lock held. */
static void leaky_set_page_rate(unsigned int r)
{
	page_rate_now = r;
	page_rate_start = jiffies;
	page_rate_done = 0;
	if (r)
		mod_delayed_work(system_wq, &rate_work, msecs_to_jiffies(LEAKY_RATE_PERIOD_MS));
}

enum leaky_knob {
	KNOB_CACHE, KNOB_KMALLOC, KNOB_PAGES, KNOB_RATE, KNOB_PAGE_RATE, KNOB_FREE
};

static ssize_t leaky_knob_write(struct file *file, const char __user *buf,
				size_t len, loff_t *ppos)
{
	enum leaky_knob knob = (uintptr_t)file->private_data;
	unsigned int n = 0;
	int err;

	if (knob != KNOB_FREE) {
		err = kstrtouint_from_user(buf, len, 0, &n);
		if (err)
			return err;
	}
	mutex_lock(&leaky_lock);
	switch (knob) {
	case KNOB_CACHE:
		err = leaky_cache_leak(n);
		break;
	case KNOB_KMALLOC:
		err = leaky_heap_leak(n, kmalloc_size);
		break;
	case KNOB_PAGES:
		err = leaky_pages_leak(n);
		break;
	case KNOB_RATE:
		leaky_set_rate(n);
		break;
	case KNOB_PAGE_RATE:
		leaky_set_page_rate(n);
		break;
	case KNOB_FREE:
		leaky_free_held();
		break;
	}
	mutex_unlock(&leaky_lock);
	return err ? err : len;
}

static const struct file_operations leaky_knob_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = leaky_knob_write,
	.llseek = noop_llseek,
};

static ssize_t leaky_stats_read(struct file *file, char __user *buf,
				size_t len, loff_t *ppos)
{
	char text[512];
	int n;

	mutex_lock(&leaky_lock);
	n = scnprintf(text, sizeof(text),
		      "cache_name %s\nobject_size %u\nclean %d\n"
		      "leaked_cache %lu\nleaked_kmalloc %lu\nkmalloc_size %u\nleaked_pages %lu\n"
		      "held_cache %lu\nheld_kmalloc %lu\nheld_pages %lu\n"
		      "rate %u\nrate_done %lu\npage_rate %u\npage_rate_done %lu\n",
		      leaky_cache_name, LEAKY_OBJ_SIZE, clean,
		      n_cache, n_kmalloc, kmalloc_size, n_pages,
		      n_held_cache, n_held_kmalloc, n_held_pages,
		      rate_now, rate_done, page_rate_now, page_rate_done);
	mutex_unlock(&leaky_lock);
	return simple_read_from_buffer(buf, len, ppos, text, n);
}

static const struct file_operations leaky_stats_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.read = leaky_stats_read,
	.llseek = default_llseek,
};

/*
 * A cache with a usercopy region is never merged with another cache
 * (slab_unmergeable()), so it keeps its own name and row in /proc/slabinfo
 * without booting with slab_nomerge. (A ctor would do too, but would leave a
 * dangling function pointer in a cache that outlives the module.)
 */
static struct kmem_cache *leaky_create_cache(void)
{
	strscpy(leaky_cache_name, cache_name, sizeof(leaky_cache_name));
	return kmem_cache_create_usercopy(leaky_cache_name, LEAKY_OBJ_SIZE, 0,
					  LEAKY_NO_MERGE, 0, LEAKY_OBJ_SIZE, NULL);
}

static int __init leaky_init(void)
{
	static const char * const knobs[] = {
		[KNOB_CACHE] = "cache", [KNOB_KMALLOC] = "kmalloc",
		[KNOB_PAGES] = "pages", [KNOB_RATE] = "rate",
		[KNOB_PAGE_RATE] = "page_rate", [KNOB_FREE] = "free",
	};
	int i, err;

	leaky_cache = leaky_create_cache();
	if (!leaky_cache)
		return -ENOMEM;
	INIT_DELAYED_WORK(&rate_work, leaky_rate_work);

	leaky_dir = debugfs_create_dir("leaky", NULL);
	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		debugfs_create_file(knobs[i], 0200, leaky_dir, (void *)(uintptr_t)i,
				    &leaky_knob_fops);
	debugfs_create_file("stats", 0444, leaky_dir, NULL, &leaky_stats_fops);

	mutex_lock(&leaky_lock);
	err = leaky_cache_leak(cache_objs);
	if (!err)
		err = leaky_heap_leak(kmalloc_objs, kmalloc_size);
	if (!err)
		err = leaky_pages_leak(pages);
	if (!err) {
		leaky_set_rate(rate);
		leaky_set_page_rate(page_rate);
	}
	mutex_unlock(&leaky_lock);
	if (err) {
		debugfs_remove_recursive(leaky_dir);
		mutex_lock(&leaky_lock);
		leaky_free_held();
		mutex_unlock(&leaky_lock);
		if (!n_cache)
			kmem_cache_destroy(leaky_cache);
		return err;
	}
	pr_info("leaky: cache %s, leaked %lu cache objects, %lu kmalloc(%u), %lu pages, rate %u/s, page_rate %u/s%s\n",
		leaky_cache_name, n_cache, n_kmalloc, kmalloc_size,
		n_pages, rate, page_rate, clean ? " (clean: held, freed at unload)" : "");
	return 0;
}

static void __exit leaky_exit(void)
{
	debugfs_remove_recursive(leaky_dir);
	mutex_lock(&leaky_lock);
	rate_now = 0;
	page_rate_now = 0;
	mutex_unlock(&leaky_lock);
	cancel_delayed_work_sync(&rate_work);

	mutex_lock(&leaky_lock);
	leaky_free_held();
	mutex_unlock(&leaky_lock);
	if (n_cache)
		pr_info("leaky: %lu objects of %s leaked: the cache is kept\n",
			n_cache, leaky_cache_name);
	else
		kmem_cache_destroy(leaky_cache);
	pr_info("leaky: unloaded; leaked %lu cache objects, %lu kmalloc, %lu pages\n",
		n_cache, n_kmalloc, n_pages);
}

module_init(leaky_init);
module_exit(leaky_exit);
MODULE_DESCRIPTION("Leaks kernel memory on demand (kleak board lab)");
MODULE_LICENSE("GPL");
