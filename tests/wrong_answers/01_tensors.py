"""Plausible wrong answers (must fail the tests) and alternative right answers (must pass) for 01_tensors.

Keys are the grade_ids of the solution cells; each value is a list of (description, full cell source).
"""

WRONG = {
    "ex1_to_float_tensor": [
        ("torch.from_numpy keeps NumPy's float64", '''
def to_float_tensor(array):
    return torch.from_numpy(array)
'''),
        ("torch.tensor without a dtype also keeps float64", '''
def to_float_tensor(array):
    return torch.tensor(array)
'''),
        ("hard-coded to the visible test", '''
def to_float_tensor(array):
    return torch.tensor([[1.5, 2.0], [3.0, 4.25]])
'''),
        ("flattens the array", '''
def to_float_tensor(array):
    return torch.tensor(array, dtype=torch.float32).flatten()
'''),
        ("half precision instead of float32", '''
def to_float_tensor(array):
    return torch.tensor(array, dtype=torch.float16)
'''),
    ],
    "ex2_standardize_columns": [
        ("standardises rows (dim=1) instead of columns", '''
def standardize_columns(X):
    return (X - X.mean(dim=1, keepdim=True)) / X.std(dim=1, keepdim=True)
'''),
        ("one mean and std for the whole tensor", '''
def standardize_columns(X):
    return (X - X.mean()) / X.std()
'''),
        ("population std (n in the denominator)", '''
def standardize_columns(X):
    return (X - X.mean(dim=0)) / X.std(dim=0, correction=0)
'''),
        ("only centres, forgets to divide", '''
def standardize_columns(X):
    return X - X.mean(dim=0)
'''),
        ("modifies X in place", '''
def standardize_columns(X):
    X -= X.mean(dim=0)
    X /= X.std(dim=0)
    return X
'''),
    ],
    "ex3_linear_predict": [
        ("element-wise * without summing: a matrix", '''
def linear_predict(X, w, b):
    return X * w + b
'''),
        ("a column (n, 1) instead of a vector (n,)", '''
def linear_predict(X, w, b):
    return X @ w.unsqueeze(1) + b
'''),
        ("forgets the bias", '''
def linear_predict(X, w, b):
    return X @ w
'''),
        ("hard-coded to the visible test", '''
def linear_predict(X, w, b):
    return torch.tensor([0.5, -0.5, -1.5])
'''),
        ("sums over the wrong dimension", '''
def linear_predict(X, w, b):
    return (X * w).sum(dim=0) + b
'''),
    ],
    "ex4_class_means": [
        ("averages over dim=1 (features) instead of rows", '''
def class_means(X, y, num_classes):
    return torch.stack([X[y == c].mean(dim=1) for c in range(num_classes)])
'''),
        ("ignores the labels: overall mean repeated", '''
def class_means(X, y, num_classes):
    return X.mean(dim=0).repeat(num_classes, 1)
'''),
        ("sums instead of averaging", '''
def class_means(X, y, num_classes):
    return torch.stack([X[y == c].sum(dim=0) for c in range(num_classes)])
'''),
        ("uses the class number as a row index", '''
def class_means(X, y, num_classes):
    return torch.stack([X[c] for c in range(num_classes)])
'''),
        ("hard-coded to the visible test", '''
def class_means(X, y, num_classes):
    return torch.tensor([[3.0, 4.0], [10.0, 20.0]])
'''),
    ],
    "ex5_flatten_images": [
        ("hard-coded 784 pixels", '''
def flatten_images(images):
    return images.reshape(-1, 784).float() / 255
'''),
        ("flattens everything into one long vector", '''
def flatten_images(images):
    return images.flatten().float() / 255
'''),
        ("forgets to scale to [0, 1]", '''
def flatten_images(images):
    return images.reshape(images.shape[0], -1).float()
'''),
        ("float64 instead of float32", '''
def flatten_images(images):
    return images.reshape(images.shape[0], -1).double() / 255
'''),
        ("divides by 256", '''
def flatten_images(images):
    return images.reshape(images.shape[0], -1).float() / 256
'''),
    ],
    "ex6_to_numpy": [
        ("t.numpy() fails on a tensor that requires grad", '''
def to_numpy(t):
    return t.numpy()
'''),
        ("np.array(t) fails on a tensor that requires grad too", '''
def to_numpy(t):
    return np.array(t)
'''),
        ("returns a detached tensor, not an array", '''
def to_numpy(t):
    return t.detach().cpu()
'''),
        ("returns a Python list", '''
def to_numpy(t):
    return t.detach().cpu().tolist()
'''),
        ("changes the dtype to float64", '''
def to_numpy(t):
    return t.detach().cpu().numpy().astype(np.float64)
'''),
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
    ],
}
