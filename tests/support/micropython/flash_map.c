/* Flash for the Pico W board under the MicroPython unix port: loaded with
 * LD_PRELOAD, it maps the file named by PICO_FLASH_IMAGE (a ROMFS image, or
 * a partition holding one) read-only into the process before MicroPython
 * starts, outside its -X heapsize heap, as a Pico keeps its ROMFS partition
 * in flash. The boot shim (mp_romfs_boot.py) finds it through
 * PICO_FLASH_AT="ADDRESS LENGTH" (decimal) and mounts it in place with
 * uctypes.bytearray_at, so the heap holds only what the door allocates.
 * Exit status 70 when the file cannot be mapped. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((constructor)) static void map_flash_image(void) {
    const char *path = getenv("PICO_FLASH_IMAGE");
    if (path == NULL) {
        return;
    }
    int image = open(path, O_RDONLY);
    struct stat about;
    if (image < 0 || fstat(image, &about) != 0 || about.st_size == 0) {
        perror(path);
        exit(70);
    }
    void *at = mmap(NULL, (size_t)about.st_size, PROT_READ, MAP_PRIVATE, image, 0);
    if (at == MAP_FAILED) {
        perror("mmap");
        exit(70);
    }
    close(image);
    char where[48];
    snprintf(where, sizeof where, "%lu %lu", (unsigned long)at, (unsigned long)about.st_size);
    setenv("PICO_FLASH_AT", where, 1);
}
