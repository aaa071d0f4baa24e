"""Ensembles: several trained models that vote together, by averaging their class probabilities.

Nets trained from different random starts, or with different architectures, make partly different mistakes, and
averaging their probabilities cancels some of them: an ensemble is usually a few points better than its best member
on FER2013, at the cost of one forward pass per member. A model file stays one model: an ensemble is a list of them.

    ensemble = Ensemble.load(["runs/vgg/model.npz", "runs/vgg_seed1/model.npz"])
    X = preprocessing.model_inputs(ensemble, images)      # images centred on the ensemble's mean image
    ensemble.predict(X)                                    # wherever a ConvNet goes: evaluate, faces, predict.py
"""
import numpy as np

from minicnn import models


class Ensemble:
    """The average of models' probabilities, with a ConvNet's interface for using a trained model: mean_image,
    hog_dim, info, to, probabilities, predict (and their test-time augmentation options).

    models: ConvNets (models.load) that take the same images (input_dim) and classes, each with the mean image it
    was trained on. Inputs are centred on the first member's mean image; each member gets them re-centred on its own
    (x - m_own = (x - m_first) + m_first - m_own), so members trained on different subsets still see their inputs
    as in training. Hybrid (HOG) nets cannot be members: the ensemble takes images alone.
    """
    hog_dim = 0             # as ConvNet.hog_dim: the ensemble takes no HOG features

    def __init__(self, members, names=None):
        members = list(members)
        if not members:
            raise ValueError("Ensemble: give at least one model")
        names = list(names) if names is not None else [f"model {index}" for index in range(1, len(members) + 1)]
        first = members[0]
        for name, member in zip(names, members):
            _check_member(name, member, first)
        self.members, self.names = members, names
        self.mean_image = first.mean_image
        self.info = {"ensemble_of": names, "members": [member.info for member in members]}

    @classmethod
    def load(cls, paths):
        """The ensemble of the model files at paths (each read by models.load, which names a bad file)."""
        return cls([models.load(path) for path in paths], names=[str(path) for path in paths])

    def to(self, device):
        """Move every member to 'cpu' or 'gpu' (or 'auto'), as ConvNet.to does; returns the ensemble."""
        for member in self.members:
            member.to(device)
        return self

    def probabilities(self, X, batch_size=256, mirror=False, crops=False):
        """X: (N, C, H, W) centred on self.mean_image -> (N, num_classes), the mean of the members' probabilities;
        mirror and crops as in ConvNet.probabilities, for every member."""
        return sum(member.probabilities(X + (self.mean_image - member.mean_image), batch_size, mirror, crops)
                   for member in self.members) / len(self.members)

    def predict(self, X, batch_size=256, mirror=False, crops=False):
        """The labels (N,) of the highest mean probability, for X as in probabilities."""
        return self.probabilities(X, batch_size, mirror, crops).argmax(axis=1)


def _check_member(name, member, first):
    """A ValueError naming the member unless it can vote beside the first one."""
    if member.mean_image is None:
        raise ValueError(f"Ensemble: {name} holds no mean training image, so its inputs cannot be prepared")
    if member.hog_dim:
        raise ValueError(f"Ensemble: {name} is a hybrid (HOG) net; an ensemble takes images alone")
    ours, theirs = member.architecture, first.architecture
    if (ours.input_dim, ours.num_classes) != (theirs.input_dim, theirs.num_classes):
        raise ValueError(f"Ensemble: {name} takes {ours.input_dim} images into {ours.num_classes} classes, the first "
                         f"model {theirs.input_dim} into {theirs.num_classes}")
    if np.shape(member.mean_image) != np.shape(first.mean_image):
        raise ValueError(f"Ensemble: {name}'s mean image is {np.shape(member.mean_image)}, the first model's "
                         f"{np.shape(first.mean_image)}")
