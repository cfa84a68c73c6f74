"""Plausible wrong answers (must fail the tests with a message that names the cause) and right answers
written in other styles (must pass) for 01_tensors.

Keys are the grade_ids of the solution cells. WRONG entries are (description, full cell source, words
the failure message must contain); RIGHT entries are (description, full cell source).
"""

WRONG = {
    "ex1_to_float_tensor": [
        ("torch.from_numpy keeps NumPy's float64", '''
def to_float_tensor(array):
    return torch.from_numpy(array)
''', ["float64", "float32"]),
        ("torch.tensor without a dtype also keeps float64", '''
def to_float_tensor(array):
    return torch.tensor(array)
''', ["float64", ".float()"]),
        ("hard-coded to the visible test", '''
def to_float_tensor(array):
    return torch.tensor([[1.5, 2.0], [3.0, 4.25]])
''', ["visible example"]),
        ("flattens the array", '''
def to_float_tensor(array):
    return torch.tensor(array, dtype=torch.float32).flatten()
''', ["wrong shape", "(2, 2)", "(4,)"]),
        ("half precision instead of float32", '''
def to_float_tensor(array):
    return torch.tensor(array, dtype=torch.float16)
''', ["float16", "float32"]),
        ("double precision", '''
def to_float_tensor(array):
    return torch.from_numpy(array).double()
''', ["float64", "float32"]),
        ("converts to integers on the way", '''
def to_float_tensor(array):
    return torch.tensor(array).long().float()
''', ["decimals", "integer"]),
        ("returns a NumPy array, not a tensor", '''
def to_float_tensor(array):
    return array.astype(np.float32)
''', ["NumPy array", "torch.from_numpy"]),
        ("forgets to return", '''
def to_float_tensor(array):
    result = torch.tensor(array, dtype=torch.float32)
''', ["None", "return"]),
        # issue 20: range and precision narrowing
        ("divides uint8 arrays by 255, as for images", '''
def to_float_tensor(array):
    result = torch.tensor(array, dtype=torch.float32)
    if array.dtype == np.uint8:
        result = result / 255
    return result
''', ["divided by 255"]),
        ("goes through float16 to save memory", '''
def to_float_tensor(array):
    return torch.from_numpy(array.astype(np.float16)).float()
''', ["float16", "precision"]),
        ("rounds to 4 decimals", '''
def to_float_tensor(array):
    return torch.tensor(np.round(array, 4), dtype=torch.float32)
''', ["rounded to 4 decimals"]),
    ],
    "ex2_standardize_columns": [
        ("standardises rows (dim=1) instead of columns", '''
def standardize_columns(X):
    return (X - X.mean(dim=1, keepdim=True)) / X.std(dim=1, keepdim=True)
''', ["row", "dim=0"]),
        ("one mean and std for the whole tensor", '''
def standardize_columns(X):
    return (X - X.mean()) / X.std()
''', ["whole tensor"]),
        ("population std (n in the denominator)", '''
def standardize_columns(X):
    return (X - X.mean(dim=0)) / X.std(dim=0, correction=0)
''', ["n - 1", "correction"]),
        ("only centres, forgets to divide", '''
def standardize_columns(X):
    return X - X.mean(dim=0)
''', ["centred", "standard deviation"]),
        ("modifies X in place", '''
def standardize_columns(X):
    X -= X.mean(dim=0)
    X /= X.std(dim=0)
    return X
''', ["in place", "X after"]),
        ("divides by the variance", '''
def standardize_columns(X):
    return (X - X.mean(dim=0)) / X.var(dim=0)
''', ["variance"]),
        ("forgets to subtract the mean", '''
def standardize_columns(X):
    return X / X.std(dim=0)
''', ["mean was not subtracted"]),
        ("writes into X with slicing", '''
def standardize_columns(X):
    for j in range(X.shape[1]):
        X[:, j] = (X[:, j] - X[:, j].mean()) / X[:, j].std()
    return X
''', ["in place"]),
        ("returns only the standard deviations", '''
def standardize_columns(X):
    return X.std(dim=0)
''', ["wrong shape", "reduction"]),
        # issue 20: range narrowing, a floor on the std, a whole-tensor std
        ("clamps the standardised values to [-3, 3]", '''
def standardize_columns(X):
    return ((X - X.mean(dim=0)) / X.std(dim=0)).clamp(-3, 3)
''', ["clamped", "outlier"]),
        ("a floor of 0.01 on the standard deviation", '''
def standardize_columns(X):
    return (X - X.mean(dim=0)) / X.std(dim=0).clamp(min=0.01)
''', ["small standard deviation", "no floor"]),
        ("centres each column but divides by the whole tensor's std", '''
def standardize_columns(X):
    return (X - X.mean(dim=0)) / X.std()
''', ["whole tensor", "X.std(dim=0)"]),
    ],
    "ex3_linear_predict": [
        ("element-wise * without summing: a matrix", '''
def linear_predict(X, w, b):
    return X * w + b
''', ["element by element", "X @ w"]),
        ("a column (n, 1) instead of a vector (n,)", '''
def linear_predict(X, w, b):
    return X @ w.unsqueeze(1) + b
''', ["(n, 1)", "(3,)"]),
        ("forgets the bias", '''
def linear_predict(X, w, b):
    return X @ w
''', ["bias b is missing"]),
        ("hard-coded to the visible test", '''
def linear_predict(X, w, b):
    return torch.tensor([0.5, -0.5, -1.5])
''', ["visible example"]),
        ("sums over the wrong dimension", '''
def linear_predict(X, w, b):
    return (X * w).sum(dim=0) + b
''', ["dim=0", "dim=1"]),
        ("subtracts the bias", '''
def linear_predict(X, w, b):
    return X @ w - b
''', ["subtracted"]),
        ("squeeze() drops the sample dimension when n = 1", '''
def linear_predict(X, w, b):
    return (X @ w.reshape(-1, 1)).squeeze() + b
''', ["squeeze", "(1,)"]),
        ("torch.dot needs two vectors", '''
def linear_predict(X, w, b):
    return torch.dot(X, w) + b
''', ["torch.dot", "X @ w"]),
        ("a Python list of predictions", '''
def linear_predict(X, w, b):
    return [float(row @ w + b) for row in X]
''', ["list", "torch.tensor"]),
        # issue 20: in-place edits of the caller's X and w
        ("multiplies X by w in place", '''
def linear_predict(X, w, b):
    return X.mul_(w).sum(dim=1) + b
''', ["X after", "in place"]),
        ("turns w into a column in place", '''
def linear_predict(X, w, b):
    return (X @ w.unsqueeze_(1)).squeeze(1) + b
''', ["w after", "in place"]),
        ("accumulates into X's first column (a view) with a loop", '''
def linear_predict(X, w, b):
    out = X[:, 0]
    out *= w[0]
    for j in range(1, X.shape[1]):
        out += X[:, j] * w[j]
    return out + b
''', ["X after", "in place"]),
    ],
    "ex4_class_means": [
        ("averages over dim=1 (features) instead of rows", '''
def class_means(X, y, num_classes):
    return torch.stack([X[y == c].mean(dim=1) for c in range(num_classes)])
''', ["torch.stack", "dim"]),
        ("ignores the labels: overall mean repeated", '''
def class_means(X, y, num_classes):
    return X.mean(dim=0).repeat(num_classes, 1)
''', ["mean of all of X", "X[y == c]"]),
        ("sums instead of averaging", '''
def class_means(X, y, num_classes):
    return torch.stack([X[y == c].sum(dim=0) for c in range(num_classes)])
''', ["sums", "divide"]),
        ("uses the class number as a row index", '''
def class_means(X, y, num_classes):
    return torch.stack([X[c] for c in range(num_classes)])
''', ["c-th sample", "X[y == c]"]),
        ("hard-coded to the visible test", '''
def class_means(X, y, num_classes):
    return torch.tensor([[3.0, 4.0], [10.0, 20.0]])
''', ["visible example"]),
        ("off by one: misses the last class", '''
def class_means(X, y, num_classes):
    return torch.stack([X[y == c].mean(dim=0) for c in range(num_classes - 1)])
''', ["last class", "range(num_classes)"]),
        ("a list of rows instead of one tensor", '''
def class_means(X, y, num_classes):
    return [X[y == c].mean(dim=0) for c in range(num_classes)]
''', ["list of tensors", "torch.stack"]),
        ("median instead of mean", '''
def class_means(X, y, num_classes):
    return torch.stack([X[y == c].median(dim=0).values for c in range(num_classes)])
''', ["medians"]),
        ("keepdim leaves an extra dimension", '''
def class_means(X, y, num_classes):
    return torch.stack([X[y == c].mean(dim=0, keepdim=True) for c in range(num_classes)])
''', ["extra dimension of size 1", "(2, 1, 2)"]),
        # issue 20: state kept between calls, floor division, an in-place edit of X
        ("remembers the result of the first call for each num_classes", '''
_cache = {}

def class_means(X, y, num_classes):
    if num_classes not in _cache:
        _cache[num_classes] = torch.stack([X[y == c].mean(dim=0) for c in range(num_classes)])
    return _cache[num_classes]
''', ["earlier call", "keep nothing between calls"]),
        ("floor division of the sums by the counts", '''
def class_means(X, y, num_classes):
    sums = torch.stack([X[y == c].sum(dim=0) for c in range(num_classes)])
    counts = torch.bincount(y, minlength=num_classes).unsqueeze(1)
    return sums // counts
''', ["floor division", "//"]),
        ("centres X in place first, adds the overall mean back", '''
def class_means(X, y, num_classes):
    overall = X.mean(dim=0)
    X -= overall
    return torch.stack([X[y == c].mean(dim=0) for c in range(num_classes)]) + overall
''', ["X after", "in place"]),
    ],
    "ex5_flatten_images": [
        ("hard-coded 784 pixels", '''
def flatten_images(images):
    return images.reshape(-1, 784).float() / 255
''', ["784", "not fixed numbers"]),
        ("flattens everything into one long vector", '''
def flatten_images(images):
    return images.flatten().float() / 255
''', ["one vector", "one row per image"]),
        ("forgets to scale to [0, 1]", '''
def flatten_images(images):
    return images.reshape(images.shape[0], -1).float()
''', ["divide by 255"]),
        ("float64 instead of float32", '''
def flatten_images(images):
    return images.reshape(images.shape[0], -1).double() / 255
''', ["float64", "float32"]),
        ("divides by 256", '''
def flatten_images(images):
    return images.reshape(images.shape[0], -1).float() / 256
''', ["256", "255"]),
        ("integer division keeps uint8", '''
def flatten_images(images):
    return images.reshape(images.shape[0], -1) // 255
''', ["uint8", ".float()"]),
        ("transposes each image before flattening", '''
def flatten_images(images):
    return images.transpose(1, 2).reshape(images.shape[0], -1).float() / 255
''', ["column-by-column"]),
        ("squeeze() drops N when there is one image", '''
def flatten_images(images):
    return images.squeeze().reshape(images.shape[0], -1).float().squeeze() / 255
''', ["wrong shape", "squeeze"]),
        ("hard-coded 28 x 28 with view", '''
def flatten_images(images):
    return images.view(images.shape[0], 28 * 28).float() / 255
''', ["reshape/view", "fixed numbers"]),
        # issue 20: the brightest pixel instead of 255 (global, per image), min-max scaling
        ("divides by the largest pixel of the batch", '''
def flatten_images(images):
    flat = images.reshape(images.shape[0], -1).float()
    return flat / flat.max()
''', ["largest pixel of the batch", "255"]),
        ("divides each image by its own largest pixel", '''
def flatten_images(images):
    flat = images.reshape(images.shape[0], -1).float()
    return flat / flat.max(dim=1, keepdim=True).values
''', ["its own largest pixel", "255"]),
        ("min-max scaling", '''
def flatten_images(images):
    flat = images.reshape(images.shape[0], -1).float()
    return (flat - flat.min()) / (flat.max() - flat.min())
''', ["min-max", "255"]),
    ],
    "ex6_to_numpy": [
        ("t.numpy() fails on a tensor that requires grad", '''
def to_numpy(t):
    return t.numpy()
''', ["requires grad", ".detach()"]),
        ("np.array(t) fails on a tensor that requires grad too", '''
def to_numpy(t):
    return np.array(t)
''', ["requires grad", "detach"]),
        ("returns a detached tensor, not an array", '''
def to_numpy(t):
    return t.detach().cpu()
''', ["numpy.ndarray", ".numpy()"]),
        ("returns a Python list", '''
def to_numpy(t):
    return t.detach().cpu().tolist()
''', ["list", "NumPy array"]),
        ("changes the dtype to float64", '''
def to_numpy(t):
    return t.detach().cpu().numpy().astype(np.float64)
''', ["float64", "keep the tensor's dtype"]),
        ("converts every tensor to float32", '''
def to_numpy(t):
    return np.asarray(t.detach().cpu(), dtype=np.float32)
''', ["wrong dtype", "keep the tensor's dtype"]),
        ("flattens the array", '''
def to_numpy(t):
    return t.detach().cpu().numpy().ravel()
''', ["wrong shape", "(2, 3)"]),
        ("uses .item(): only one number", '''
def to_numpy(t):
    return np.array(t.detach().item())
''', ["cannot be converted", ".item()"]),
        # issue 20: device omissions and dtype narrowing
        ("t.data.numpy(): cuts the graph but forgets the device", '''
def to_numpy(t):
    return t.data.numpy()
''', ["GPU", ".cpu()"]),
        ("detaches and copies only when the tensor requires grad", '''
def to_numpy(t):
    if t.requires_grad:
        return t.detach().cpu().numpy()
    return t.numpy()
''', ["GPU", ".cpu()"]),
        ("narrows float64 tensors to float32", '''
def to_numpy(t):
    t = t.detach().cpu()
    if t.is_floating_point():
        t = t.float()
    return t.numpy()
''', ["float64", "keep the tensor's dtype"]),
    ],
}

RIGHT = {
    "ex1_to_float_tensor": [
        ("from_numpy then .float()", '''
def to_float_tensor(array):
    return torch.from_numpy(array).float()
'''),
        ("as_tensor then .to(torch.float32)", '''
def to_float_tensor(array):
    return torch.as_tensor(array).to(torch.float32)
'''),
        ("convert in NumPy first, with a print", '''
def to_float_tensor(array):
    converted = torch.from_numpy(np.asarray(array, dtype=np.float32))
    print("converted an array of shape", array.shape)
    return converted
'''),
        # issue 20: styles the tests had not seen
        ("through float64, then cast to float32", '''
def to_float_tensor(array):
    return torch.from_numpy(np.array(array, dtype=np.float64)).to(torch.float32)
'''),
        ("an explicit loop over the values, reshaped back", '''
def to_float_tensor(array):
    values = [float(v) for v in np.ravel(array)]
    return torch.tensor(values, dtype=torch.float32).reshape(np.shape(array))
'''),
    ],
    "ex2_standardize_columns": [
        ("keepdim and an explicit correction=1", '''
def standardize_columns(X):
    mean = X.mean(dim=0, keepdim=True)
    std = X.std(dim=0, keepdim=True, correction=1)
    return (X - mean) / std
'''),
        ("the formula written out", '''
def standardize_columns(X):
    n = X.shape[0]
    centred = X - X.sum(dim=0) / n
    return centred / torch.sqrt((centred ** 2).sum(dim=0) / (n - 1))
'''),
        ("a loop over the columns into a new tensor", '''
def standardize_columns(X):
    out = torch.empty_like(X)
    for j in range(X.shape[1]):
        column = X[:, j]
        out[:, j] = (column - column.mean()) / column.std()
    return out
'''),
        # issue 20: styles the tests had not seen
        ("float64 inside, cast back to X's dtype", '''
def standardize_columns(X):
    Xd = X.double()
    return ((Xd - Xd.mean(dim=0)) / Xd.std(dim=0)).to(X.dtype)
'''),
        ("einsum for the sums", '''
def standardize_columns(X):
    n = X.shape[0]
    centred = X - torch.einsum("ij->j", X) / n
    return centred / torch.sqrt(torch.einsum("ij,ij->j", centred, centred) / (n - 1))
'''),
    ],
    "ex3_linear_predict": [
        ("row-wise dot products with * and sum", '''
def linear_predict(X, w, b):
    return (X * w).sum(dim=1) + b
'''),
        ("torch.matmul", '''
def linear_predict(X, w, b):
    return torch.matmul(X, w) + b
'''),
        ("w @ X.T and torch.mv", '''
def linear_predict(X, w, b):
    predictions = torch.mv(X, w)
    assert torch.allclose(predictions, w @ X.T)
    return predictions + b
'''),
        # issue 20: styles the tests had not seen
        ("einsum", '''
def linear_predict(X, w, b):
    return torch.einsum("nd,d->n", X, w) + b
'''),
        ("float64 inside, cast back to X's dtype", '''
def linear_predict(X, w, b):
    return (X.double() @ w.double() + b).to(X.dtype)
'''),
    ],
    "ex4_class_means": [
        ("a loop filling a preallocated tensor", '''
def class_means(X, y, num_classes):
    result = torch.zeros(num_classes, X.shape[1])
    for c in range(num_classes):
        rows = X[y == c]
        result[c] = rows.sum(dim=0) / rows.shape[0]
    return result
'''),
        ("one-hot matrix product", '''
def class_means(X, y, num_classes):
    one_hot = torch.nn.functional.one_hot(y, num_classes).float()
    return (one_hot.T @ X) / one_hot.sum(dim=0).unsqueeze(1)
'''),
        ("index_add_ and bincount", '''
def class_means(X, y, num_classes):
    sums = torch.zeros(num_classes, X.shape[1]).index_add_(0, y, X)
    counts = torch.bincount(y, minlength=num_classes).unsqueeze(1)
    return sums / counts
'''),
        # issue 20: styles the tests had not seen
        ("one-hot by scatter, then einsum", '''
def class_means(X, y, num_classes):
    one_hot = torch.zeros(len(y), num_classes, dtype=X.dtype).scatter_(1, y.unsqueeze(1), 1.0)
    return torch.einsum("nc,nd->cd", one_hot, X) / one_hot.sum(dim=0).unsqueeze(1)
'''),
        ("float64 inside, cast back to X's dtype", '''
def class_means(X, y, num_classes):
    Xd = X.double()
    return torch.stack([Xd[y == c].mean(dim=0) for c in range(num_classes)]).to(X.dtype)
'''),
    ],
    "ex5_flatten_images": [
        ("flatten(start_dim=1) and 255.0", '''
def flatten_images(images):
    return images.flatten(start_dim=1).to(torch.float32) / 255.0
'''),
        ("explicit sizes with view", '''
def flatten_images(images):
    n, h, w = images.shape
    return images.float().view(n, h * w) / 255
'''),
        ("true division first, then reshape with -1 for the pixels", '''
def flatten_images(images):
    scaled = images / 255          # true division gives float32
    return scaled.reshape(len(images), -1)
'''),
        # issue 20: styles the tests had not seen
        ("float64 inside, cast to float32 at the end", '''
def flatten_images(images):
    return (torch.flatten(images, 1).double() / 255).float()
'''),
        ("an explicit loop over the images", '''
def flatten_images(images):
    rows = [image.reshape(-1).float() / 255 for image in images]
    return torch.stack(rows)
'''),
    ],
    "ex6_to_numpy": [
        ("cpu before detach", '''
def to_numpy(t):
    return t.cpu().detach().numpy()
'''),
        ("numpy(force=True)", '''
def to_numpy(t):
    return t.numpy(force=True)
'''),
        ("np.asarray of a detached CPU copy", '''
def to_numpy(t):
    return np.asarray(t.detach().to("cpu"))
'''),
        # issue 20: styles the tests had not seen
        ("a copy made with .to('cpu', copy=True) under inference_mode", '''
def to_numpy(t):
    with torch.inference_mode():
        return t.detach().to("cpu", copy=True).numpy()
'''),
        ("a deep copy of the detached tensor", '''
import copy

def to_numpy(t):
    return copy.deepcopy(t.detach()).cpu().numpy()
'''),
    ],
}

# issue 20: answers that only the property tests catch (generated inputs against the instructor's reference:
# size-1 dimensions, float64, extreme values), and right answers in further styles
WRONG["ex1_to_float_tensor"] += [
    ("squeeze() drops the dimensions of size 1", '''
def to_float_tensor(array):
    return torch.tensor(array, dtype=torch.float32).squeeze()
''', ["wrong shape", "squeeze"]),
    ("clips the values to float16's range", '''
def to_float_tensor(array):
    return torch.tensor(np.clip(array, -65504, 65504), dtype=torch.float32)
''', ["cut off at", "65504"]),
    ("converts only 2-D arrays to float32", '''
def to_float_tensor(array):
    if array.ndim == 2:
        return torch.tensor(array, dtype=torch.float32)
    return torch.from_numpy(array)
''', ["wrong dtype", "float32"]),
]
RIGHT["ex1_to_float_tensor"] += [
    ("through Python lists", '''
def to_float_tensor(array):
    return torch.tensor(array.tolist(), dtype=torch.float32)
'''),
]
WRONG["ex2_standardize_columns"] += [
    ("narrows the result to float32", '''
def standardize_columns(X):
    return ((X - X.mean(dim=0)) / X.std(dim=0)).float()
''', ["wrong dtype", "float64", "keep the input's dtype"]),
    ("squeeze() drops the column when there is one", '''
def standardize_columns(X):
    return ((X - X.mean(dim=0)) / X.std(dim=0)).squeeze()
''', ["wrong shape", "squeeze"]),
]
RIGHT["ex2_standardize_columns"] += [
    ("torch.std_mean", '''
def standardize_columns(X):
    std, mean = torch.std_mean(X, dim=0)
    return (X - mean) / std
'''),
]
WRONG["ex3_linear_predict"] += [
    ("narrows the predictions to float32", '''
def linear_predict(X, w, b):
    return (X @ w + b).float()
''', ["wrong dtype", "float64", "keep the input's dtype"]),
    ("casts w to float32", '''
def linear_predict(X, w, b):
    return X @ w.float() + b
''', ["raised an error", "dtype"]),
]
RIGHT["ex3_linear_predict"] += [
    ("torch.addmv on a vector of b", '''
def linear_predict(X, w, b):
    return torch.addmv(torch.full((X.shape[0],), float(b), dtype=X.dtype), X, w)
'''),
]
WRONG["ex4_class_means"] += [
    ("squeeze() drops a dimension of size 1", '''
def class_means(X, y, num_classes):
    return torch.stack([X[y == c].mean(dim=0) for c in range(num_classes)]).squeeze()
''', ["wrong shape", "squeeze"]),
    ("loops over the features (X.shape[1]) instead of the classes", '''
def class_means(X, y, num_classes):
    return torch.stack([X[y == c].mean(dim=0) for c in range(X.shape[1])])
''', ["wrong shape", "num_classes ="]),
]
RIGHT["ex4_class_means"] += [
    ("scatter_reduce with the mean", '''
def class_means(X, y, num_classes):
    index = y.unsqueeze(1).expand(-1, X.shape[1])
    return torch.zeros(num_classes, X.shape[1], dtype=X.dtype).scatter_reduce(0, index, X, reduce="mean",
                                                                               include_self=False)
'''),
]
WRONG["ex5_flatten_images"] += [
    ("assumes square images", '''
def flatten_images(images):
    return images.reshape(images.shape[0], images.shape[1] ** 2).float() / 255
''', ["raised an error", "shape"]),
    ("half precision on the way", '''
def flatten_images(images):
    return (images.reshape(images.shape[0], -1).half() / 255).float()
''', ["float16"]),
]
RIGHT["ex5_flatten_images"] += [
    ("torch.div by a float32 tensor", '''
def flatten_images(images):
    return torch.div(images.flatten(start_dim=1), torch.tensor(255.0))
'''),
]
WRONG["ex6_to_numpy"] += [
    ("squeeze() drops the dimensions of size 1", '''
def to_numpy(t):
    return t.detach().cpu().numpy().squeeze()
''', ["wrong shape", "squeeze"]),
    ("np.asarray with dtype=np.float32", '''
def to_numpy(t):
    return np.asarray(t.detach().cpu(), dtype=np.float32)
''', ["wrong dtype", "keep the tensor's dtype"]),
]
RIGHT["ex6_to_numpy"] += [
    ("np.array of the detached CPU tensor", '''
def to_numpy(t):
    return np.array(t.detach().cpu())
'''),
]


# The audit's answers (150 wrong answers and alternative right ones written against all eight topics):
# each WRONG one is rejected with a message that names its cause, each RIGHT one passes.
_AUDIT_WRONG = {
    'ex1_to_float_tensor': [
        ('reshape(array.shape[0], -1): only right for 1-D and 2-D arrays', '''
def to_float_tensor(array):
    return torch.tensor(array, dtype=torch.float32).reshape(array.shape[0], -1)
''', ['your code raised an error', 'to_float_tensor(array)']),
        ('converts only float64 arrays; integer arrays stay integer', '''
def to_float_tensor(array):
    if array.dtype == np.float64:
        array = array.astype(np.float32)
    return torch.from_numpy(array)
''', ['a tensor built from Python ints']),
        ('caches the result by shape', '''
_seen = {}
def to_float_tensor(array):
    if array.shape not in _seen:
        _seen[array.shape] = torch.tensor(array, dtype=torch.float32)
    return _seen[array.shape]
''', ['the result of an earlier call']),
    ],
    'ex2_standardize_columns': [
        ('one-pass variance E[x^2]-E[x]^2 (numerically unstable)', '''
def standardize_columns(X):
    n = X.shape[0]
    m = X.mean(dim=0)
    var = ((X ** 2).mean(dim=0) - m ** 2) * n / (n - 1)
    return (X - m) / var.sqrt()
''', ['every value is 1.002 times the expected one']),
        ('mean divided by n-1 as well', '''
def standardize_columns(X):
    n = X.shape[0]
    m = X.sum(dim=0) / (n - 1)
    return (X - m) / X.std(dim=0)
''', ['every value is off by the same amount']),
        ('median instead of mean', '''
def standardize_columns(X):
    return (X - X.median(dim=0).values) / X.std(dim=0)
''', ['every value is off by the same amount']),
        ('small epsilon 1e-6 added to the std', '''
def standardize_columns(X):
    return (X - X.mean(dim=0)) / (X.std(dim=0) + 1e-6)
''', ['the column with the small standard deviation came out wrong']),
    ],
    'ex3_linear_predict': [
        ('mean of the products instead of the sum', '''
def linear_predict(X, w, b):
    return (X * w).mean(dim=1) + b
''', ['values are not close to the', 'linear_predict(X, w, 2.0)']),
        ('hard-coded for 2 features', '''
def linear_predict(X, w, b):
    return X[:, 0] * w[0] + X[:, 1] * w[1] + b
''', ['an index is too large']),
        ('b truncated to an int', '''
def linear_predict(X, w, b):
    return X @ w + int(b)
''', ['values are not close to the', 'linear_predict(X, w, b)']),
    ],
    'ex4_class_means': [
        ('classes in order of first appearance, not by label', '''
def class_means(X, y, num_classes):
    order = list(dict.fromkeys(y.tolist()))
    return torch.stack([X[y == c].mean(dim=0) for c in order])
''', ['row c is X[c]']),
        ('assumes balanced classes: sum / (n / k)', '''
def class_means(X, y, num_classes):
    n = X.shape[0]
    return torch.stack([X[y == c].sum(dim=0) / (n / num_classes) for c in range(num_classes)])
''', ['values are not close to the', 'class_means(X, y, 2)']),
        ('one-hot product without the transpose (d, k)', '''
def class_means(X, y, num_classes):
    onehot = torch.nn.functional.one_hot(y, num_classes).float()
    return (X.T @ onehot) / onehot.sum(dim=0)
''', ['this is the transpose of the expected matrix']),
    ],
    'ex5_flatten_images': [
        ('reshape(H*W, N).T: pixel order scrambled', '''
def flatten_images(images):
    n = images.shape[0]
    return images.reshape(-1, n).T.float() / 255
''', ['the right values in the wrong places']),
        ('int8 instead of uint8-safe conversion', '''
def flatten_images(images):
    return images.reshape(images.shape[0], -1).to(torch.int8).float() / 255
''', ['values are not close to the', 'flatten_images(images of shape (2']),
        ('inverted colours 1 - x/255', '''
def flatten_images(images):
    return 1 - images.reshape(images.shape[0], -1).float() / 255
''', ['the right values in the wrong places']),
    ],
    'ex6_to_numpy': [
        ('detach but no cpu', '''
def to_numpy(t):
    return t.detach().numpy()
''', ['use t.detach().cpu().numpy(): only CPU tensors can']),
        ('through a Python list: float32 becomes float64', '''
def to_numpy(t):
    return np.array(t.tolist())
''', ["keep the tensor's dtype"]),
    ],
}
_AUDIT_RIGHT = {
    'ex1_to_float_tensor': [
        ('NumPy copy to float32, then from_numpy', '''
def to_float_tensor(array):
    return torch.from_numpy(np.array(array, dtype=np.float32, copy=True))
'''),
    ],
    'ex2_standardize_columns': [
        ('clone, then in-place ops on the copy', '''
def standardize_columns(X):
    Z = X.clone()
    Z -= Z.mean(dim=0)
    Z /= Z.std(dim=0)
    return Z
'''),
        ('numpy round trip with ddof=1', '''
def standardize_columns(X):
    a = X.numpy()
    return torch.from_numpy((a - a.mean(axis=0)) / a.std(axis=0, ddof=1))
'''),
        ('torch.var_mean then sqrt', '''
def standardize_columns(X):
    var, mean = torch.var_mean(X, dim=0, keepdim=True)
    return (X - mean) * torch.rsqrt(var)
'''),
    ],
    'ex3_linear_predict': [
        ('stack of torch.dot per row', '''
def linear_predict(X, w, b):
    return torch.stack([torch.dot(x, w) for x in X]) + b
'''),
        ('numpy round trip', '''
def linear_predict(X, w, b):
    return torch.from_numpy(X.numpy() @ w.numpy() + b)
'''),
    ],
    'ex4_class_means': [
        ('keepdim rows concatenated', '''
def class_means(X, y, num_classes):
    return torch.cat([X[y == c].mean(dim=0, keepdim=True) for c in range(num_classes)])
'''),
        ('range from y.max() (every class appears)', '''
def class_means(X, y, num_classes):
    return torch.stack([X[y == c].mean(dim=0) for c in range(int(y.max()) + 1)])
'''),
    ],
    'ex5_flatten_images': [
        ('multiply by 1/255', '''
def flatten_images(images):
    return images.reshape(len(images), -1).to(torch.float32) * (1 / 255)
'''),
        ('unsqueeze then flatten(1)', '''
def flatten_images(images):
    return images.unsqueeze(1).flatten(1).float() / 255
'''),
    ],
    'ex6_to_numpy': [
        ("detach, to('cpu'), clone, numpy", '''
def to_numpy(t):
    return t.detach().to("cpu").clone().numpy()
'''),
        ('copy of the array', '''
def to_numpy(t):
    return t.detach().cpu().numpy().copy()
'''),
    ],
}
for _key, _entries in _AUDIT_WRONG.items():
    WRONG.setdefault(_key, []).extend(_entries)
for _key, _entries in _AUDIT_RIGHT.items():
    RIGHT.setdefault(_key, []).extend(_entries)
