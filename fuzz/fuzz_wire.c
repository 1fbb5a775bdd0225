/*
 * Fuzz lib/wire: the first half of the input is a program of cursor
 * operations run over the second half, read and written. Any access outside
 * the buffers is caught by ASan; the invariants are asserted here.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void run(struct wire *w, const uint8_t *prog, size_t n, int depth)
{
	uint8_t tmp[64];

	for (size_t i = 0; i + 1 < n; i += 2) {
		uint8_t op = prog[i] % 14, arg = prog[i + 1];
		size_t before = wire_offset(w);
		int err = wire_err(w);

		switch (op) {
		case 0: (void)wire_read_u8(w); break;
		case 1: (void)wire_read_u16(w); break;
		case 2: (void)wire_read_u32(w); break;
		case 3: (void)wire_read_u64(w); break;
		case 4: wire_read_bytes(w, tmp, arg % sizeof(tmp)); break;
		case 5: wire_skip(w, arg); break;
		case 6: wire_seek(w, arg); break;
		case 7: (void)wire_read_ref(w, arg); break;
		case 8:
			if (depth < 4) {
				struct wire s = wire_sub(w, arg % 32);

				run(&s, prog + i + 2, n - i - 2 < 16 ? n - i - 2 : 16, depth + 1);
				if (s.pos > s.end || s.end > w->end)
					abort();
			}
			break;
		case 9: wire_write_u8(w, arg); break;
		case 10: wire_write_u32(w, arg); break;
		case 11: wire_write_bytes(w, prog, arg % (n + 1)); break;
		case 12: wire_patch_u16(w, arg, arg); break;
		case 13: (void)wire_reserve(w, arg % 8); break;
		}
		/* errors are sticky and a failed operation never moves the cursor */
		if ((err && (wire_err(w) != err || wire_offset(w) != before)) ||
		    w->pos < w->start || w->pos > w->end)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[256];
	size_t half = size / 2, blen = size - half > sizeof(buf) ? sizeof(buf) : size - half;
	struct wire r = wire_reader(data + half, size - half), w;

	run(&r, data, half, 0);
	memcpy(buf, data + half, blen);
	w = wire_writer(buf, blen);
	run(&w, data, half, 0);
	return 0;
}
