"""Tests of minicnn.data: every form of FER2013 it reads, every malformed row it rejects, its cache, the search
for the data file, preprocessing and flipping; and, when FER2013 is at hand, the real files."""
import gzip
import io
import lzma
import os
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from minicnn import data, preprocessing

ROW_LABELS = [0, 3, 6, 2, 4]
ROW_USAGES = ['Training', 'Training', 'PublicTest', 'PrivateTest', 'Training']


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Keep every cache of these tests in tmp_path, never in the home folder or beside shared data."""
    monkeypatch.setenv('MINICNN_CACHE', str(tmp_path / 'cache'))
    monkeypatch.setenv('HOME', str(tmp_path / 'home'))
    monkeypatch.delenv('MINICNN_DATA', raising=False)


@pytest.fixture
def images():
    """Five random faces, uint8 (5, 48, 48)."""
    return np.random.default_rng(0).integers(0, 256, size=(5, 48, 48), dtype=np.uint8)


def csv_rows(images, labels=ROW_LABELS, usages=ROW_USAGES):
    """Rows of a Kaggle fer2013.csv as [emotion, pixels, Usage] strings."""
    return [[str(label), ' '.join(map(str, image.ravel())), usage]
            for image, label, usage in zip(images, labels, usages, strict=True)]


def rows_text(rows, header='emotion,pixels,Usage'):
    """CSV text of a header line and the given rows."""
    return header + '\n' + ''.join(','.join(row) + '\n' for row in rows)


def csv_text(images, labels=ROW_LABELS, usages=ROW_USAGES):
    """The Kaggle fer2013.csv text of the given rows."""
    return rows_text(csv_rows(images, labels, usages))


def write_csv(path, text):
    """Write text to path, gzip-compressed when the name ends in .gz; returns path."""
    payload = text.encode()
    path.write_bytes(gzip.compress(payload) if path.name.endswith('.gz') else payload)
    return path


def write_tar(path, text, member='fer2013/fer2013.csv'):
    """Write a .tar.gz holding text as member, the way Kaggle's fer2013.tar.gz holds fer2013.csv."""
    payload = text.encode()
    with tarfile.open(path, 'w:gz') as archive:
        info = tarfile.TarInfo(member)
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return path


def assert_same_rows(dataset, images, labels=ROW_LABELS, usages=ROW_USAGES):
    """dataset holds exactly the given rows, in order, with the documented dtypes."""
    assert dataset.images.dtype == np.uint8 and dataset.images.shape == (len(images), 48, 48)
    assert dataset.labels.dtype == np.int64 and dataset.usage.dtype == np.int8
    np.testing.assert_array_equal(dataset.images, images)
    np.testing.assert_array_equal(dataset.labels, labels)
    np.testing.assert_array_equal(dataset.usage, [data.USAGES.index(usage) for usage in usages])


# ----------------------------------------------------------------------------------------------------------------
# Forms that load
# ----------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('name', ['fer2013.csv', 'fer2013.csv.gz'])
def test_reads_csv_plain_and_gzip(tmp_path, images, name):
    path = write_csv(tmp_path / name, csv_text(images))
    assert_same_rows(data.load_fer2013(path), images)


def test_reads_csv_inside_tar_gz_without_extracting(tmp_path, images):
    path = write_tar(tmp_path / 'fer2013.tar.gz', csv_text(images))
    assert_same_rows(data.load_fer2013(path, cache=False), images)
    assert sorted(p.name for p in tmp_path.iterdir()) == ['fer2013.tar.gz']


def test_reads_pixels_separated_by_any_spaces(tmp_path, images):
    rows = csv_rows(images)
    rows[1][1] = ' ' + rows[1][1].replace(' ', '  ', 5) + ' '
    path = write_csv(tmp_path / 'fer2013.csv', rows_text(rows))
    assert_same_rows(data.load_fer2013(path, cache=False), images)


def test_reads_windows_line_endings(tmp_path, images):
    path = write_csv(tmp_path / 'fer2013.csv', csv_text(images).replace('\n', '\r\n'))
    assert_same_rows(data.load_fer2013(path), images)


@pytest.mark.parametrize('name', ['fer.npz', 'fer.npz.xz'])
def test_reads_own_npz(tmp_path, images, name):
    buffer = io.BytesIO()
    np.savez(buffer, images=images, labels=np.array(ROW_LABELS, np.uint8),
             usage=np.array([data.USAGES.index(u) for u in ROW_USAGES], np.uint8), row=np.arange(5, dtype=np.int32))
    payload = buffer.getvalue()
    (tmp_path / name).write_bytes(lzma.compress(payload) if name.endswith('.xz') else payload)
    assert_same_rows(data.load_fer2013(tmp_path / name), images)


def save_png(path, image):
    """Write image (48, 48) uint8 as a grey PNG at path, creating folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def test_reads_image_folder_by_class_name_or_digit(tmp_path, images):
    save_png(tmp_path / 'faces/train/Angry/10.png', images[0])
    save_png(tmp_path / 'faces/train/happy/2.png', images[1])
    save_png(tmp_path / 'faces/test/6/0.png', images[2])
    (tmp_path / 'faces/train/happy/notes.txt').write_text('not an image')
    dataset = data.load_fer2013(tmp_path / 'faces')
    # train/ first, numbered names in number order (2 before 10); test/ alone is PublicTest
    assert_same_rows(dataset, images[[1, 0, 2]], [3, 0, 6], ['Training', 'Training', 'PublicTest'])


def test_image_folder_test_is_private_when_a_validation_folder_exists(tmp_path, images):
    save_png(tmp_path / 'faces/train/sad/0.png', images[0])
    save_png(tmp_path / 'faces/val/sad/1.png', images[1])
    save_png(tmp_path / 'faces/test/sad/2.png', images[2])
    dataset = data.load_fer2013(tmp_path / 'faces')
    assert_same_rows(dataset, images[:3], [4, 4, 4], ['Training', 'PublicTest', 'PrivateTest'])


def test_image_folder_kaggle_file_names_tell_the_split(tmp_path, images):
    save_png(tmp_path / 'faces/train/fear/Training_5.jpg.png', images[0])
    save_png(tmp_path / 'faces/test/fear/PrivateTest_7.png', images[1])
    save_png(tmp_path / 'faces/test/fear/PublicTest_9.png', images[2])
    dataset = data.load_fer2013(tmp_path / 'faces')
    assert_same_rows(dataset, images[[0, 2, 1]], [2, 2, 2], ['Training', 'PublicTest', 'PrivateTest'])


def test_image_folder_errors_name_the_problem(tmp_path, images):
    save_png(tmp_path / 'a/photos/happy/0.png', images[0])
    with pytest.raises(ValueError, match='no split folders.*found photos'):
        data.load_fer2013(tmp_path / 'a')
    save_png(tmp_path / 'b/train/joyful/0.png', images[0])
    with pytest.raises(ValueError, match='joyful is not an emotion'):
        data.load_fer2013(tmp_path / 'b')
    save_png(tmp_path / 'c/train/happy/0.png', np.zeros((64, 48), np.uint8))
    with pytest.raises(ValueError, match='0.png: image is 48x64 pixels, expected 48x48'):
        data.load_fer2013(tmp_path / 'c')


# ----------------------------------------------------------------------------------------------------------------
# Malformed files: each problem is a ValueError that names the file and the line
# ----------------------------------------------------------------------------------------------------------------

def with_pixel(pixels, position, value):
    """The pixel text pixels with the value at position replaced by value."""
    values = pixels.split(' ')
    values[position] = value
    return ' '.join(values)


BAD_FIELDS = [  # (row, column, corruption of the field, expected message)
    pytest.param(1, 1, lambda p: p.rsplit(' ', 1)[0], "fer2013.csv line 3: 'pixels' has 2303 values, expected 2304",
                 id='too-few-pixels'),
    pytest.param(2, 1, lambda p: p + ' 7', "fer2013.csv line 4: 'pixels' has 2305 values, expected 2304",
                 id='too-many-pixels'),
    pytest.param(0, 1, lambda p: '', "fer2013.csv line 2: 'pixels' has 0 values, expected 2304", id='no-pixels'),
    pytest.param(3, 1, lambda p: with_pixel(p, 5, '256'),
                 "fer2013.csv line 5: pixel 5 of 'pixels' is '256', expected an integer 0..255", id='pixel-256'),
    pytest.param(3, 1, lambda p: with_pixel(p, 5, '-1'), "line 5: pixel 5 of 'pixels' is '-1'",
                 id='pixel-negative'),
    pytest.param(3, 1, lambda p: with_pixel(p, 5, '3.5'), "line 5: pixel 5 of 'pixels' is '3.5'",
                 id='pixel-fraction'),
    pytest.param(3, 1, lambda p: with_pixel(p, 2303, 'x'), "line 5: pixel 2303 of 'pixels' is 'x'", id='pixel-letter'),
    pytest.param(3, 1, lambda p: with_pixel(p, 7, '1' * 25), "line 5: pixel 7 of 'pixels' is '" + '1' * 25 + "'",
                 id='pixel-overflowing-int64'),
    pytest.param(3, 1, lambda p: with_pixel(p, 0, ''), "line 5: 'pixels' has 2303 values, expected 2304",
                 id='empty-value'),
    pytest.param(1, 0, lambda e: '7', "fer2013.csv line 3: 'emotion' is '7', expected an integer 0..6", id='label-7'),
    pytest.param(1, 0, lambda e: 'happy', "line 3: 'emotion' is 'happy', expected an integer 0..6", id='label-word'),
    pytest.param(1, 0, lambda e: '2.0', "line 3: 'emotion' is '2.0'", id='label-fraction'),
    pytest.param(2, 2, lambda u: 'Train',
                 "fer2013.csv line 4: 'Usage' is 'Train', expected one of Training, PublicTest, PrivateTest",
                 id='unknown-usage'),
]


@pytest.mark.parametrize('row, column, corrupt, message', BAD_FIELDS)
def test_bad_field_names_file_and_line(tmp_path, images, row, column, corrupt, message):
    rows = csv_rows(images)
    rows[row][column] = corrupt(rows[row][column])
    path = write_csv(tmp_path / 'fer2013.csv', rows_text(rows))
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        data.load_fer2013(path)
    # The line named is the line of the file that a user's editor shows with the bad field in it.
    line = int(re.search(r'line (\d+)', str(error.value)).group(1))
    assert path.read_text().splitlines()[line - 1].split(',')[column] == rows[row][column]


@pytest.mark.parametrize('name', ['fer2013.csv', 'fer2013.csv.gz'])
def test_truncated_file_points_at_the_cut(tmp_path, images, name):
    text = csv_text(images)
    path = write_csv(tmp_path / name, text[:len(text) - 3000])  # cut inside the last row's pixels
    with pytest.raises(ValueError, match=re.escape("line 6: 'Usage' is '', expected one of Training, PublicTest, "
                                                   "PrivateTest (this is the last row: is the file cut short?)")):
        data.load_fer2013(path)


@pytest.mark.parametrize('text, message', [
    ('', 'fer2013.csv is empty'),
    ('emotion,pixels,Usage\n', 'fer2013.csv has a header but no data rows'),
    ('emotion,pixel,Usage\n0,1 2,Training\n',
     "fer2013.csv: missing column(s) pixels; found 'emotion', 'pixel', 'Usage'"),
    ('0,1 2,Training\n', "missing column(s) emotion, pixels, Usage; found '0', '1 2', 'Training'"),
    ('emotion,pixels,Usage\n0,1 2,Training,extra\n', 'fer2013.csv is not a well-formed CSV file'),
    ('emotion,pixels,Usage\n0,1,Training\n0,1,Training,extra\n', 'fer2013.csv is not a well-formed CSV file'),
], ids=['empty', 'header-only', 'missing-column', 'no-header', 'extra-field', 'extra-field-later'])
def test_bad_file_structure(tmp_path, text, message):
    path = write_csv(tmp_path / 'fer2013.csv', text)
    with pytest.raises(ValueError, match=re.escape(message)):
        data.load_fer2013(path)


def test_unreadable_gzip_and_tar(tmp_path, images):
    (tmp_path / 'noise.csv.gz').write_bytes(os.urandom(1000))
    with pytest.raises(ValueError, match=r'noise.csv.gz cannot be decompressed'):
        data.load_fer2013(tmp_path / 'noise.csv.gz')
    compressed = gzip.compress(csv_text(images).encode())
    (tmp_path / 'cut.csv.gz').write_bytes(compressed[:len(compressed) // 2])
    with pytest.raises(ValueError, match=r'cut.csv.gz cannot be decompressed'):
        data.load_fer2013(tmp_path / 'cut.csv.gz')
    (tmp_path / 'noise.tar.gz').write_bytes(os.urandom(1000))
    with pytest.raises(ValueError, match=r'noise.tar.gz cannot be read as a tar archive'):
        data.load_fer2013(tmp_path / 'noise.tar.gz')
    write_tar(tmp_path / 'other.tar.gz', csv_text(images), member='fer2013/readme.txt')
    with pytest.raises(ValueError, match=r'other.tar.gz holds no fer2013.csv; it holds fer2013/readme.txt'):
        data.load_fer2013(tmp_path / 'other.tar.gz')


def test_bad_npz_files(tmp_path, images):
    np.savez(tmp_path / 'partial.npz', images=images, labels=np.zeros(5, np.int64))
    with pytest.raises(ValueError, match=re.escape('partial.npz: missing array(s) usage; found images, labels')):
        data.load_fer2013(tmp_path / 'partial.npz')
    np.savez(tmp_path / 'label.npz', images=images, labels=np.array([0, 1, 9, 2, 3]), usage=np.zeros(5, np.int8))
    with pytest.raises(ValueError, match=re.escape('label.npz image 2: labels is 9, expected 0..6')):
        data.load_fer2013(tmp_path / 'label.npz')
    np.savez(tmp_path / 'pickled.npz', images=images, labels=np.array([{}] * 5, dtype=object), usage=np.zeros(5))
    with pytest.raises(ValueError, match='pickled.npz: Object arrays cannot be loaded'):
        data.load_fer2013(tmp_path / 'pickled.npz')
    np.savez_compressed(tmp_path / 'damaged.npz', images=images, labels=np.zeros(5, np.int64), usage=np.zeros(5))
    damaged = bytearray((tmp_path / 'damaged.npz').read_bytes())
    damaged[200] ^= 0xFF  # inside the images array's compressed bytes: the zip's table of contents stays readable
    (tmp_path / 'damaged.npz').write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match='damaged.npz is damaged'):
        data.load_fer2013(tmp_path / 'damaged.npz', cache=False)
    (tmp_path / 'noise.npz.xz').write_bytes(os.urandom(100))
    with pytest.raises(ValueError, match='noise.npz.xz cannot be decompressed'):
        data.load_fer2013(tmp_path / 'noise.npz.xz')


def test_unknown_file_kind_and_missing_file(tmp_path):
    (tmp_path / 'fer2013.xlsx').write_bytes(b'')
    with pytest.raises(ValueError, match='cannot tell what kind of file'):
        data.load_fer2013(tmp_path / 'fer2013.xlsx')
    with pytest.raises(data.DataNotFoundError, match='Kaggle'):
        data.load_fer2013(tmp_path / 'absent.csv')


# ----------------------------------------------------------------------------------------------------------------
# The cache
# ----------------------------------------------------------------------------------------------------------------

def forbid_parsing(monkeypatch):
    """Make any parse of a source fail, so a successful load must have come from the cache."""
    def fail(*args):
        raise AssertionError('the source was parsed, the cache was not used')
    monkeypatch.setattr(data, '_read_source', fail)


def test_cache_beside_source_is_reused_and_invalidated(tmp_path, images, monkeypatch):
    monkeypatch.delenv('MINICNN_CACHE')
    path = write_csv(tmp_path / 'fer2013.csv.gz', csv_text(images))
    data.load_fer2013(path)
    assert (tmp_path / 'fer2013.csv.gz.cache.npz').exists()
    with monkeypatch.context() as patch:
        forbid_parsing(patch)
        assert_same_rows(data.load_fer2013(path), images)
    flipped = images[:, :, ::-1]
    write_csv(path, csv_text(flipped))
    os.utime(path, ns=(1, 1))  # a new modification time, whatever the clock's resolution
    assert_same_rows(data.load_fer2013(path), flipped)


def test_cache_falls_back_to_user_folder_when_source_folder_cannot_be_written(tmp_path, images, monkeypatch):
    monkeypatch.delenv('MINICNN_CACHE')
    path = write_csv(tmp_path / 'fer2013.csv', csv_text(images))
    (tmp_path / 'fer2013.csv.cache.npz').mkdir()  # a folder where the cache file should go: writing it fails
    data.load_fer2013(path)
    user_caches = list((tmp_path / 'home/.cache/minicnn/data').glob('fer2013.csv-*.npz'))
    assert len(user_caches) == 1
    forbid_parsing(monkeypatch)
    assert_same_rows(data.load_fer2013(path), images)


def test_cache_goes_to_minicnn_cache_when_set(tmp_path, images, monkeypatch):
    path = write_csv(tmp_path / 'fer2013.csv', csv_text(images))
    data.load_fer2013(path)
    assert not (tmp_path / 'fer2013.csv.cache.npz').exists()
    assert len(list((tmp_path / 'cache/data').glob('fer2013.csv-*.npz'))) == 1
    assert not list((tmp_path / 'cache/data').glob('*.tmp'))


def test_no_cache_when_asked(tmp_path, images):
    path = write_csv(tmp_path / 'fer2013.csv', csv_text(images))
    data.load_fer2013(path, cache=False)
    assert not (tmp_path / 'cache').exists()


def test_image_folder_cache_sees_a_changed_image(tmp_path, images):
    save_png(tmp_path / 'faces/train/sad/0.png', images[0])
    data.load_fer2013(tmp_path / 'faces')
    save_png(tmp_path / 'faces/train/sad/0.png', images[1])
    os.utime(tmp_path / 'faces/train/sad/0.png', ns=(1, 1))
    np.testing.assert_array_equal(data.load_fer2013(tmp_path / 'faces').images, images[1:2])


# ----------------------------------------------------------------------------------------------------------------
# find_data_path
# ----------------------------------------------------------------------------------------------------------------

def test_find_data_path_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data/fer2013.csv.gz').touch()
    assert data.find_data_path() == Path('data/fer2013.csv.gz')
    (tmp_path / 'data/fer2013.csv').touch()
    assert data.find_data_path() == Path('data/fer2013.csv')
    (tmp_path / 'env.csv').touch()
    monkeypatch.setenv('MINICNN_DATA', 'env.csv')
    assert data.find_data_path() == Path('env.csv')
    (tmp_path / 'cli.csv').touch()
    assert data.find_data_path('cli.csv') == Path('cli.csv')


def test_find_data_path_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(data.DataNotFoundError, match=r'tried data/fer2013.csv, .*default locations.*Kaggle'):
        data.find_data_path()
    (tmp_path / 'data').mkdir()
    (tmp_path / 'data/fer2013.csv').touch()
    monkeypatch.setenv('MINICNN_DATA', 'elsewhere.csv')
    with pytest.raises(FileNotFoundError, match=r'tried elsewhere.csv \(from MINICNN_DATA\)'):
        data.find_data_path()
    with pytest.raises(data.DataNotFoundError, match=r'tried typo.csv \(from --data\).*MINICNN_DATA=PATH'):
        data.find_data_path('typo.csv')


# ----------------------------------------------------------------------------------------------------------------
# Preparing images
# ----------------------------------------------------------------------------------------------------------------

def test_preprocess_subtracts_the_mean_image(images):
    X, mean_image = preprocessing.preprocess(images)
    assert X.shape == (5, 1, 48, 48) and X.dtype == np.float32
    assert mean_image.shape == (48, 48) and mean_image.dtype == np.float32
    np.testing.assert_allclose(mean_image, images.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(X[:, 0], images - images.mean(axis=0), atol=1e-4)
    X_new, same_mean = preprocessing.preprocess(images[:2], mean_image)
    assert same_mean is mean_image
    np.testing.assert_array_equal(X_new, X[:2])


def test_preprocess_rejects_wrong_shapes(images):
    with pytest.raises(ValueError, match=r'images must be \(N, H, W\)'):
        preprocessing.preprocess(images[0])
    with pytest.raises(ValueError, match='mean_image is'):
        preprocessing.preprocess(images, np.zeros((32, 32), np.float32))


def test_split_and_load_splits(tmp_path, images):
    path = write_csv(tmp_path / 'fer2013.csv', csv_text(images))
    train_images, train_labels = data.split(data.load_fer2013(path), 'Training')
    np.testing.assert_array_equal(train_images, images[[0, 1, 4]])
    np.testing.assert_array_equal(train_labels, [0, 3, 4])
    with pytest.raises(ValueError, match="unknown usage 'Validation'"):
        data.split(data.load_fer2013(path), 'Validation')
    splits = data.load_splits(path)
    assert {key: value.shape for key, value in splits.items()} == {
        'X_train': (3, 1, 48, 48), 'y_train': (3,), 'X_val': (1, 1, 48, 48), 'y_val': (1,),
        'X_test': (1, 1, 48, 48), 'y_test': (1,), 'mean_image': (48, 48)}
    train_mean = images[[0, 1, 4]].mean(axis=0)
    np.testing.assert_allclose(splits['mean_image'], train_mean, rtol=1e-6)
    np.testing.assert_allclose(splits['X_test'][0, 0], images[3] - train_mean, atol=1e-4)
    np.testing.assert_array_equal(splits['y_val'], [6])
    with pytest.raises(ValueError, match='subset must be at least 1 Training image, got 0'):
        data.load_splits(path, subset=0)
    small = data.load_splits(path, subset=2)
    assert small['X_train'].shape == (2, 1, 48, 48) and small['X_val'].shape == (1, 1, 48, 48)
    np.testing.assert_allclose(small['mean_image'], images[:2].mean(axis=0), rtol=1e-6)


def test_load_splits_without_private_test(tmp_path, images):
    usages = ['Training', 'Training', 'PublicTest', 'Training', 'PublicTest']
    path = write_csv(tmp_path / 'fer2013.csv', csv_text(images, usages=usages))
    splits = data.load_splits(path)
    assert splits['X_test'].shape == (0, 1, 48, 48) and splits['y_test'].shape == (0,)


def test_random_flip_flips_exactly_the_drawn_rows():
    x = np.random.default_rng(1).standard_normal((64, 2, 5, 7)).astype(np.float32)
    before = x.copy()
    flipped = preprocessing.random_flip(x, np.random.default_rng(42))
    chosen = np.random.default_rng(42).random(64) < 0.5
    assert 0 < chosen.sum() < 64
    np.testing.assert_array_equal(flipped[chosen], x[chosen][..., ::-1])
    np.testing.assert_array_equal(flipped[~chosen], x[~chosen])
    np.testing.assert_array_equal(x, before)
    assert flipped.dtype == x.dtype and flipped.shape == x.shape


# ----------------------------------------------------------------------------------------------------------------
# The real FER2013 files, when they are at hand
# ----------------------------------------------------------------------------------------------------------------

SHARED_DATA = Path(__file__).resolve().parents[2] / 'shared' / 'data'
REAL_CSV = Path(os.environ.get('MINICNN_DATA') or SHARED_DATA / 'fer2013.csv.gz')
REAL_NPZ_XZ = SHARED_DATA / 'fer2013_train_public.npz.xz'
CLASS_COUNTS = {  # per emotion 0..6, from the table in shared/data/README.md
    'Training': [3995, 436, 4097, 7215, 4830, 3171, 4965],
    'PublicTest': [467, 56, 496, 895, 653, 415, 607],
    'PrivateTest': [491, 55, 528, 879, 594, 416, 626],
}


@pytest.fixture(scope='module')
def real_dataset(tmp_path_factory):
    """FER2013 parsed from REAL_CSV (or MINICNN_DATA), with its cache in a temporary folder."""
    if not REAL_CSV.exists():
        pytest.skip(f'FER2013 not found at {REAL_CSV}; set MINICNN_DATA to run the real-data tests')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv('MINICNN_CACHE', str(tmp_path_factory.mktemp('real_cache')))
        return data.load_fer2013(REAL_CSV)


def test_real_csv_counts_and_first_row(real_dataset):
    assert len(real_dataset.images) == 35887
    for usage_name, counts in CLASS_COUNTS.items():
        assert np.bincount(data.split(real_dataset, usage_name)[1], minlength=7).tolist() == counts
    assert real_dataset.labels[0] == 0
    assert real_dataset.images[0].ravel()[:4].tolist() == [70, 80, 82, 72]


def test_real_npz_xz_equals_the_csv(real_dataset):
    if not REAL_NPZ_XZ.exists():
        pytest.skip(f'{REAL_NPZ_XZ} not found')
    arrays = data.load_fer2013(REAL_NPZ_XZ, cache=False)
    assert np.bincount(arrays.usage).tolist() == [28709, 3589]
    for row in [0, 1, 28708, 28709, 32297]:
        np.testing.assert_array_equal(arrays.images[row], real_dataset.images[row])
        assert arrays.labels[row] == real_dataset.labels[row]
        assert arrays.usage[row] == real_dataset.usage[row]
