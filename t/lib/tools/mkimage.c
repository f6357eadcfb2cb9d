/*
 * t/043-files.t helper: writes a test image with libgd (the server's own
 * image library): mkimage png|jpeg|gif|webp WIDTH HEIGHT FILE
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gd.h>


int
main(int argc, char **argv)
{
    int         w, h, x, y, len;
    FILE       *f;
    void       *data;
    gdImagePtr  im;

    if (argc != 5 || (w = atoi(argv[2])) <= 0 || (h = atoi(argv[3])) <= 0) {
        fprintf(stderr, "usage: mkimage png|jpeg|gif|webp W H FILE\n");
        return 2;
    }

    im = gdImageCreateTrueColor(w, h);
    if (im == NULL) {
        return 1;
    }

    for (y = 0; y < h; y++) {
        for (x = 0; x < w; x++) {
            gdImageSetPixel(im, x, y,
                            gdTrueColor(x % 256, y % 256, (x + y) % 256));
        }
    }

    if (strcmp(argv[1], "jpeg") == 0) {
        data = gdImageJpegPtr(im, &len, 85);
    } else if (strcmp(argv[1], "webp") == 0) {
        data = gdImageWebpPtr(im, &len);
    } else if (strcmp(argv[1], "gif") == 0) {
        data = gdImageGifPtr(im, &len);
    } else {
        data = gdImagePngPtr(im, &len);
    }

    gdImageDestroy(im);

    if (data == NULL || (f = fopen(argv[4], "wb")) == NULL) {
        return 1;
    }

    if (fwrite(data, 1, len, f) != (size_t) len || fclose(f) != 0) {
        return 1;
    }

    gdFree(data);
    return 0;
}
