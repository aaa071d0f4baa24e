"""FER2013: find the data set, read it in any of its common forms, check it, cache it and split it.

Centring the images and augmenting them is minicnn.preprocessing's job; load_splits calls it for the three splits.

FER2013 (Goodfellow et al., 2013) holds 35,887 grey 48x48 faces. Each has one of seven emotion labels
(CLASS_NAMES, in label order) and belongs to one of three splits (USAGES): Training (28,709 images),
PublicTest (3,589; we validate on it) and PrivateTest (3,589; we test on it).

load_fer2013 reads:
- Kaggle's fer2013.csv (columns emotion, pixels, Usage), or the same file gzip-compressed (fer2013.csv.gz);
- Kaggle's fer2013.tar.gz, reading fer2013/fer2013.csv straight out of the archive;
- an image folder <root>/<split>/<emotion>/<image>, as in Kaggle's image version (train/ and test/): test/
  counts as PublicTest unless a val/ folder is there too (see _usage_of_split_folder);
- minicnn's own array file (.npz, or .npz compressed with xz: .npz.xz) with arrays images, labels, usage.

Errors name the place as a user would look for it: in a CSV the line of the file, counted from 1 with the header
as line 1 (so "line 19" holds dataset.images[17], row 17 of FER2013 image dumps; blank lines, which are skipped,
are not counted); in an image folder the image's path; in an .npz file the index of the image in its arrays.

Parsing the CSV takes seconds, so load_fer2013 caches the arrays in an .npz file keyed by the source's size and
modification time. The cache goes to $MINICNN_CACHE/data when that variable is set; otherwise beside the source
(fer2013.csv.gz -> fer2013.csv.gz.cache.npz) when its folder is writable, else to ~/.cache/minicnn/data.
"""
import gzip
import hashlib
import io
import lzma
import os
import re
import struct
import tarfile
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from minicnn.files import NPZ_READ_ERRORS, cache_root, save_arrays
from minicnn.preprocessing import preprocess

CLASS_NAMES = ('angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral')
USAGES = ('Training', 'PublicTest', 'PrivateTest')
IMAGE_SHAPE = (48, 48)
PIXELS = IMAGE_SHAPE[0] * IMAGE_SHAPE[1]
CSV_COLUMNS = ('emotion', 'pixels', 'Usage')
DEFAULT_DATA_PATHS = ('data/fer2013.csv', 'data/fer2013.csv.gz', 'data/fer2013.tar.gz')
KAGGLE_URL = 'https://www.kaggle.com/c/challenges-in-representation-learning-facial-expression-recognition-challenge'
IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.pgm', '.tif', '.tiff')
ROWS_PER_CHUNK = 4096  # rows of pixel text parsed at once: about 35 MB of text, 75 MB of int64
CACHE_VERSION = 1  # bump when the cache layout changes, so old caches are rebuilt


class DataNotFoundError(FileNotFoundError):
    """FER2013 is not where minicnn looked; the message says where to get it and how to point minicnn at it."""


class FER2013(NamedTuple):
    """The whole data set, in file order.

    images: uint8 (N, 48, 48), grey levels 0..255
    labels: int64 (N,), emotion 0..6, an index into CLASS_NAMES
    usage:  int8 (N,), split 0..2, an index into USAGES
    """
    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray


# ----------------------------------------------------------------------------------------------------------------
# Finding and loading the data set
# ----------------------------------------------------------------------------------------------------------------

def find_data_path(cli_path=None):
    """The FER2013 file or folder to use: cli_path (the --data option), else $MINICNN_DATA, else the first of
    DEFAULT_DATA_PATHS (relative to the current folder) that exists.

    Returns a Path. Raises DataNotFoundError when the chosen path, or every default, is missing.
    """
    if cli_path:
        candidates, origin = [cli_path], '--data'
    elif os.environ.get('MINICNN_DATA'):
        candidates, origin = [os.environ['MINICNN_DATA']], 'MINICNN_DATA'
    else:
        candidates, origin = DEFAULT_DATA_PATHS, 'the default locations'
    for candidate in candidates:
        if Path(candidate).exists():
            return Path(candidate)
    raise DataNotFoundError(_not_found_message(', '.join(map(str, candidates)), origin))


def _not_found_message(tried, origin):
    """The text of a DataNotFoundError: what was tried, where FER2013 comes from and how to point minicnn at it."""
    return (f"FER2013 not found: tried {tried} (from {origin}). Download fer2013.tar.gz from Kaggle's "
            f"\"Challenges in Representation Learning: Facial Expression Recognition Challenge\" ({KAGGLE_URL}), "
            f"then pass --data PATH, set MINICNN_DATA=PATH, or put it at data/fer2013.csv (or .csv.gz). "
            f"PATH may be fer2013.csv, fer2013.csv.gz, fer2013.tar.gz, an image folder with train/ and test/, "
            f"or a minicnn .npz / .npz.xz file.")


def load_fer2013(path, cache=True):
    """Read FER2013 from path (any form listed in the module docstring) and check every value.

    path: str or Path. cache: read and write the parsed-array cache (see the module docstring).
    Returns FER2013(images uint8 (N, 48, 48), labels int64 (N,), usage int8 (N,)).
    Raises DataNotFoundError when path does not exist, ValueError (naming the file and row) when it is malformed.
    """
    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(_not_found_message(str(path), 'load_fer2013'))
    kind = _source_kind(path)
    if not cache or kind == 'npz':  # a plain .npz loads as fast as a cache would
        return _read_source(path, kind)
    key = _source_key(path)
    for cache_file in cache_files(path):
        dataset = _read_cache(cache_file, key)
        if dataset is not None:
            return dataset
    dataset = _read_source(path, kind)
    _write_cache(dataset, key, cache_files(path))
    return dataset


def _source_kind(path):
    """'folder', 'csv', 'csv.gz', 'tar', 'npz' or 'npz.xz', from what path is and how its name ends."""
    if path.is_dir():
        return 'folder'
    name = path.name.lower()
    for suffix, kind in (('.csv', 'csv'), ('.csv.gz', 'csv.gz'), ('.tar', 'tar'), ('.tar.gz', 'tar'),
                         ('.tgz', 'tar'), ('.npz', 'npz'), ('.npz.xz', 'npz.xz')):
        if name.endswith(suffix):
            return kind
    raise ValueError(f"{path}: cannot tell what kind of file this is; expected a name ending in .csv, .csv.gz, "
                     f".tar.gz, .tgz, .tar, .npz or .npz.xz, or an image folder")


def _read_source(path, kind):
    """Parse path, of the given kind, into a checked FER2013."""
    if kind == 'folder':
        return _read_image_folder(path)
    if kind == 'csv':
        return _read_csv(path, path.name)
    if kind == 'csv.gz':
        return _read_csv(path, path.name, compression='gzip')
    if kind == 'tar':
        return _read_tar(path)
    return _read_npz(path)


def split(dataset, usage_name):
    """The images and labels of one split.

    dataset: FER2013. usage_name: one of USAGES ('Training', 'PublicTest', 'PrivateTest').
    Returns images uint8 (M, 48, 48) and labels int64 (M,), in file order; M may be 0.
    """
    if usage_name not in USAGES:
        raise ValueError(f"split: unknown usage {usage_name!r}, expected one of {', '.join(USAGES)}")
    in_split = dataset.usage == USAGES.index(usage_name)
    return dataset.images[in_split], dataset.labels[in_split]


# ----------------------------------------------------------------------------------------------------------------
# The CSV form: emotion,pixels,Usage
# ----------------------------------------------------------------------------------------------------------------

def _read_csv(source, name, compression=None):
    """Read a FER2013 CSV from a path or an open binary file; name is the file name used in messages."""
    import pandas as pd  # here, not at the top: a machine that only reads the .npz form needs no pandas
    try:
        with warnings.catch_warnings():
            # A row with more fields than the header only warns in pandas; for us it is a malformed file.
            warnings.simplefilter('error', pd.errors.ParserWarning)
            table = pd.read_csv(source, dtype=str, na_filter=False, index_col=False, compression=compression)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{name} is empty; expected a header line {','.join(CSV_COLUMNS)} and data rows") from None
    except (pd.errors.ParserError, pd.errors.ParserWarning) as err:
        raise ValueError(f"{name} is not a well-formed CSV file: {err}") from None
    except (gzip.BadGzipFile, EOFError, zlib.error, tarfile.ReadError) as err:
        raise ValueError(f"{name} cannot be decompressed ({err}); the file is damaged or cut short, "
                         f"download it again") from None
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not a text CSV file (it holds bytes that are not text)") from None
    return _dataset_from_table(table, name)


def _dataset_from_table(table, name):
    """Check the columns and every value of a CSV table (all strings) and turn it into a FER2013."""
    missing = [column for column in CSV_COLUMNS if column not in table.columns]
    if missing:
        found = ', '.join(repr(column[:20]) for column in table.columns)
        raise ValueError(f"{name}: missing column(s) {', '.join(missing)}; found {found}; "
                         f"expected a header line {','.join(CSV_COLUMNS)}")
    if len(table) == 0:
        raise ValueError(f"{name} has a header but no data rows")
    labels = _codes(table['emotion'], [str(label) for label in range(len(CLASS_NAMES))],
                    'an integer 0..6', 'emotion', name)
    usage = _codes(table['Usage'], USAGES, f"one of {', '.join(USAGES)}", 'Usage', name)
    images = _parse_pixels(table['pixels'].tolist(), name)
    return FER2013(images, labels.astype(np.int64), usage.astype(np.int8))


def _codes(column, allowed, expected, column_name, name):
    """The position of each value of column in allowed; a ValueError names the first row holding another value."""
    import pandas as pd
    codes = pd.Index(allowed).get_indexer(column)  # -1 marks a value that is not allowed
    bad = np.flatnonzero(codes < 0)
    if bad.size:
        row = bad[0]
        raise ValueError(f"{name} line {_line(row)}: {column_name!r} is {column.iloc[row]!r}, expected {expected}"
                         f"{_truncation_hint(row, len(column))}")
    return codes


def _line(row):
    """The line of the CSV file that holds data row `row` (0-based): line 1 is the header."""
    return row + 2


def _truncation_hint(row, n_rows):
    """A hint for the message about a bad last row, which is what a file cut short looks like."""
    return ' (this is the last row: is the file cut short?)' if row == n_rows - 1 else ''


def _parse_pixels(pixel_texts, name):
    """Turn N strings of 2304 space-separated integers into images, uint8 (N, 48, 48), checking every value.

    The text is parsed by numpy a chunk of rows at a time, not row by row in Python; only when a chunk fails
    does _bad_pixel_message walk its rows to name the culprit.
    """
    value_counts = np.array([text.count(' ') + 1 for text in pixel_texts])  # counts separators, parses nothing
    for row in np.flatnonzero(value_counts != PIXELS):
        # Either not 2304 values or not single-spaced: only these few rows are split to tell which.
        found = len(pixel_texts[row].split())
        if found != PIXELS:
            raise ValueError(f"{name} line {_line(row)}: 'pixels' has {found} values, expected "
                             f"{PIXELS}{_truncation_hint(row, len(pixel_texts))}")
    images = np.empty((len(pixel_texts), PIXELS), dtype=np.uint8)
    for start in range(0, len(pixel_texts), ROWS_PER_CHUNK):
        chunk = pixel_texts[start:start + ROWS_PER_CHUNK]
        images[start:start + len(chunk)] = _parse_pixel_chunk(chunk, start, name)
    return images.reshape(-1, *IMAGE_SHAPE)


def _parse_pixel_chunk(chunk, first_row, name):
    """Parse the pixel texts of rows first_row.. into int64 (len(chunk), 2304), all in 0..255."""
    try:
        # int64 saturates instead of wrapping, so a huge number cannot sneak into 0..255
        values = np.fromstring(' '.join(chunk), dtype=np.int64, sep=' ')
    except ValueError:  # some value is not an integer
        values = np.empty(0, dtype=np.int64)
    if values.size != len(chunk) * PIXELS or values.min() < 0 or values.max() > 255:
        raise ValueError(_bad_pixel_message(chunk, first_row, name))
    return values.reshape(len(chunk), PIXELS)


def _bad_pixel_message(chunk, first_row, name):
    """The message naming the first value in the chunk that is not an integer 0..255 (row-by-row: errors only)."""
    for offset, text in enumerate(chunk):
        values = text.split()
        for position, value in enumerate(values):
            if not (value.isascii() and value.isdigit() and int(value) <= 255):
                return (f"{name} line {_line(first_row + offset)}: pixel {position} of 'pixels' is {value!r}, "
                        f"expected an integer 0..255")
        if len(values) != PIXELS:  # e.g. a value left out between two spaces: the count of spaces looked right
            return f"{name} line {_line(first_row + offset)}: 'pixels' has {len(values)} values, expected {PIXELS}"
    return (f"{name} lines {_line(first_row)}..{_line(first_row + len(chunk) - 1)}: 'pixels' could not be parsed as "
            "integers")


def _read_tar(path):
    """Read the fer2013.csv inside a tar archive (Kaggle's fer2013.tar.gz holds fer2013/fer2013.csv)."""
    try:
        with tarfile.open(path, 'r:*') as archive:
            members = [member for member in archive.getmembers()
                       if member.isfile() and Path(member.name).name == 'fer2013.csv']
            if not members:
                names = ', '.join(archive.getnames()[:10])
                raise ValueError(f"{path.name} holds no fer2013.csv; it holds {names or 'nothing'}")
            return _read_csv(archive.extractfile(members[0]), f"{path.name}:{members[0].name}")
    except (tarfile.ReadError, EOFError, zlib.error) as err:
        raise ValueError(f"{path.name} cannot be read as a tar archive ({err}); the file is damaged or cut short, "
                         f"download it again") from None


# ----------------------------------------------------------------------------------------------------------------
# The image-folder form: <root>/<split>/<emotion>/<image>
# ----------------------------------------------------------------------------------------------------------------

_SPLIT_FOLDERS = {'train': 'Training', 'training': 'Training',
                  'val': 'PublicTest', 'valid': 'PublicTest', 'validation': 'PublicTest', 'publictest': 'PublicTest',
                  'privatetest': 'PrivateTest', 'test': None}  # test: see _usage_of_split_folder


def _usage_of_split_folder(folder_name, has_validation_folder):
    """The usage code of a split folder.

    train/ or training/ -> Training; val/, valid/, validation/ or publictest/ -> PublicTest; privatetest/ ->
    PrivateTest (case-insensitive). test/ is PrivateTest when a validation folder sits beside it (the split held
    out to the end); alone, as in Kaggle's image-folder version whose test/ mixes both test splits, it is
    PublicTest, which the trainer uses for validation, so a model is never selected on images labelled as test.
    """
    usage = _SPLIT_FOLDERS[folder_name.lower()]
    if usage is None:
        usage = 'PrivateTest' if has_validation_folder else 'PublicTest'
    return USAGES.index(usage)


def _usage_of_file(path, folder_usage):
    """A name such as PrivateTest_123.jpg (Kaggle's image folders) tells the split better than the folder does."""
    for code, usage in enumerate(USAGES):
        if path.stem.startswith(usage + '_'):
            return code
    return folder_usage


def _label_of_emotion_folder(folder, root):
    """The label of an emotion folder named by a class name (any case) or a digit 0..6."""
    name = folder.name.lower()
    if name in CLASS_NAMES:
        return CLASS_NAMES.index(name)
    if name.isdigit() and int(name) < len(CLASS_NAMES):
        return int(name)
    raise ValueError(f"{root}: folder {folder.relative_to(root)} is not an emotion; expected one of "
                     f"{', '.join(CLASS_NAMES)} (any case) or a digit 0..6")


def _natural_key(path):
    """Sort key that puts 2.png before 10.png, so numbered images keep their FER2013 row order."""
    return [int(part) if part.isdigit() else part for part in re.split(r'(\d+)', path.stem)] + [path.name]


def _image_folder_entries(root):
    """Every image under root as (path, label, usage code), sorted by usage and then by number in the name."""
    split_folders = [folder for folder in root.iterdir() if folder.is_dir() and folder.name.lower() in _SPLIT_FOLDERS]
    if not split_folders:
        found = ', '.join(sorted(entry.name for entry in root.iterdir())) or 'nothing'
        raise ValueError(f"{root}: no split folders; expected train/ and test/ (or val/, validation/, PublicTest/, "
                         f"PrivateTest/), each holding one folder per emotion; found {found}")
    has_validation = any(_SPLIT_FOLDERS[folder.name.lower()] == 'PublicTest' for folder in split_folders)
    entries = []
    for split_folder in split_folders:
        folder_usage = _usage_of_split_folder(split_folder.name, has_validation)
        for emotion_folder in (entry for entry in split_folder.iterdir()
                               if entry.is_dir() and not entry.name.startswith('.')):
            label = _label_of_emotion_folder(emotion_folder, root)
            entries += [(image, label, _usage_of_file(image, folder_usage)) for image in emotion_folder.iterdir()
                        if image.suffix.lower() in IMAGE_SUFFIXES]
    if not entries:
        raise ValueError(f"{root}: no images ({', '.join(IMAGE_SUFFIXES)}) in its emotion folders")
    return sorted(entries, key=lambda entry: (entry[2], _natural_key(entry[0])))


# What Pillow's decoders raise on a damaged file: OSError (and its UnidentifiedImageError) mostly, but a broken PNG
# chunk is a SyntaxError, a cut-off header an EOFError or struct.error, bad compressed data a zlib.error or ValueError.
DAMAGED_IMAGE_ERRORS = (OSError, SyntaxError, EOFError, ValueError, struct.error, zlib.error)


def _read_image(path):
    """One image file as uint8 (48, 48) grey levels; colour images are converted to grey."""
    from PIL import Image  # Pillow comes with scikit-image; only image folders need it
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert('L'))
    except DAMAGED_IMAGE_ERRORS as err:
        raise ValueError(f"{path}: cannot be read as an image ({err})") from None
    if pixels.shape != IMAGE_SHAPE:
        raise ValueError(f"{path}: image is {pixels.shape[1]}x{pixels.shape[0]} pixels, expected 48x48")
    return pixels


def _read_image_folder(root):
    """Read every image of an image folder into a FER2013."""
    entries = _image_folder_entries(root)
    images = np.stack([_read_image(path) for path, _, _ in entries])
    labels = np.array([label for _, label, _ in entries], dtype=np.int64)
    usage = np.array([code for _, _, code in entries], dtype=np.int8)
    return FER2013(images, labels, usage)


# ----------------------------------------------------------------------------------------------------------------
# minicnn's own array form (.npz, .npz.xz), which is also the cache's form
# ----------------------------------------------------------------------------------------------------------------

def _read_npz(path):
    """Read a minicnn .npz or .npz.xz file: arrays images (N, 48, 48), labels (N,) and usage (N,)."""
    try:
        if path.name.lower().endswith('.xz'):
            with lzma.open(path) as file:
                source = io.BytesIO(file.read())
        else:
            source = path
        arrays = np.load(source)  # allow_pickle stays False: a data file must not be able to run code
    except (lzma.LZMAError, EOFError) as err:
        raise ValueError(f"{path.name} cannot be decompressed ({err}); the file is damaged or cut short") from None
    except NPZ_READ_ERRORS:
        raise ValueError(f"{path.name} is not an .npz file (a zip archive of .npy arrays), or a damaged one") from None
    if not isinstance(arrays, np.lib.npyio.NpzFile):
        raise ValueError(f"{path.name} holds a single array, not an .npz file of arrays images, labels, usage")
    with arrays:
        return _dataset_from_arrays(arrays, path.name)


def _dataset_from_arrays(arrays, name):
    """Check the arrays of an .npz file (a mapping of name -> array) and turn them into a FER2013."""
    missing = [key for key in FER2013._fields if key not in arrays]
    if missing:
        raise ValueError(f"{name}: missing array(s) {', '.join(missing)}; found {', '.join(arrays) or 'none'}")
    try:
        images, labels, usage = (arrays[key] for key in FER2013._fields)
    except ValueError as err:  # an object array, which would need pickle
        raise ValueError(f"{name}: {err}") from None
    except NPZ_READ_ERRORS as err:  # the zip's table is fine, an array's bytes are not
        raise ValueError(f"{name} is damaged ({err}); download or write it again") from None
    n = len(images)
    if images.dtype != np.uint8 or images.shape != (n, *IMAGE_SHAPE):
        raise ValueError(f"{name}: images is {images.dtype} {images.shape}, expected uint8 (N, 48, 48)")
    _check_codes(labels, n, len(CLASS_NAMES), 'labels', name)
    _check_codes(usage, n, len(USAGES), 'usage', name)
    return FER2013(images, labels.astype(np.int64), usage.astype(np.int8))


def _check_codes(codes, n, n_values, array_name, name):
    """Check that codes is an integer array (n,) with values 0..n_values-1."""
    if codes.shape != (n,) or not np.issubdtype(codes.dtype, np.integer):
        raise ValueError(f"{name}: {array_name} is {codes.dtype} {codes.shape}, expected integers ({n},)")
    bad = np.flatnonzero((codes < 0) | (codes >= n_values))
    if bad.size:
        raise ValueError(f"{name} image {bad[0]}: {array_name} is {codes[bad[0]]}, expected 0..{n_values - 1}")


# ----------------------------------------------------------------------------------------------------------------
# The cache
# ----------------------------------------------------------------------------------------------------------------

def cache_files(path):
    """Where the cache of source path (a Path) may live, in order of preference (`minicnn info` shows them)."""
    path = path.resolve()
    user_file = cache_root() / 'data' / f"{path.name}-{hashlib.sha1(str(path).encode()).hexdigest()[:12]}.npz"
    if os.environ.get('MINICNN_CACHE'):
        return [user_file]
    return [path.parent / f"{path.name}.cache.npz", user_file]


def _source_key(path):
    """A string that changes when the source changes: size and mtime of the file, or of each image of a folder."""
    files = [entry[0] for entry in _image_folder_entries(path)] if path.is_dir() else [path]
    stats = [(str(file.relative_to(path.parent)), file.stat().st_size, file.stat().st_mtime_ns) for file in files]
    return f"{CACHE_VERSION}:{hashlib.sha1(repr(stats).encode()).hexdigest()}"


def _read_cache(cache_file, key):
    """The FER2013 cached in cache_file, or None when it is absent, stale or unreadable."""
    try:
        with np.load(cache_file) as arrays:
            if 'source_key' not in arrays or str(arrays['source_key']) != key:
                return None
            return _dataset_from_arrays(arrays, cache_file.name)
    except (OSError, ValueError, zipfile.BadZipFile):
        return None


def _write_cache(dataset, key, cache_files):
    """Save dataset in the first cache file that can be written; give up silently when none can."""
    for cache_file in cache_files:
        try:
            save_arrays(cache_file, {'source_key': key, **dataset._asdict()})
            return
        except OSError:
            continue


# ----------------------------------------------------------------------------------------------------------------
# The three splits, ready for training
# ----------------------------------------------------------------------------------------------------------------

def load_splits(path, subset=None, cache=True, keep_images=False):
    """Load FER2013 and prepare its three splits for training, centred on the Training mean image.

    path: as for load_fer2013. subset: keep only the first subset Training images (for quick tries).
    Returns a dict: X_train, X_val (PublicTest), X_test (PrivateTest): float32 (N, 1, 48, 48);
    y_train, y_val, y_test: int64 (N,); mean_image: float32 (48, 48), the mean of the Training images kept.
    A split the file lacks (PrivateTest in fer2013_train_public.npz.xz) comes back with N = 0.
    keep_images: also return the raw uint8 (N, 48, 48) images of each split as images_train, images_val and
    images_test (the hybrid net computes HOG features from them).
    """
    dataset = load_fer2013(path, cache=cache)
    if subset is not None and subset < 1:
        raise ValueError(f"subset must be at least 1 Training image, got {subset}")
    train_images, y_train = split(dataset, 'Training')
    if len(train_images) == 0:
        raise ValueError(f"{path} has no Training rows to train on or to compute the mean image from")
    train_images, y_train = train_images[:subset], y_train[:subset]
    X_train, mean_image = preprocess(train_images)
    data = {'X_train': X_train, 'y_train': y_train}
    if keep_images:
        data['images_train'] = train_images
    for usage_name, suffix in (('PublicTest', 'val'), ('PrivateTest', 'test')):
        images, labels = split(dataset, usage_name)
        data[f"X_{suffix}"], data[f"y_{suffix}"] = preprocess(images, mean_image)[0], labels
        if keep_images:
            data[f"images_{suffix}"] = images
    data['mean_image'] = mean_image
    return data
