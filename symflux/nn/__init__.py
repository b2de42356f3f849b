"""Flux's model-building API: layers, losses, optimisers, training, and the 2017 API."""

from . import functional, losses
from .conv import (
                   AdaptiveMaxPool,
                   AdaptiveMeanPool,
                   Conv,
                   ConvTranspose,
                   CrossCor,
                   DepthwiseConv,
                   GlobalMaxPool,
                   GlobalMeanPool,
                   MaxPool,
                   MeanPool,
                   SamePad,
                   outdims,
)
from .init import glorot_normal, glorot_uniform, kaiming_normal, kaiming_uniform, nfan
from .layers import (
                   Affine,
                   Chain,
                   Dense,
                   Diagonal,
                   Layer,
                   Maxout,
                   SkipConnection,
                   activations,
                   compose,
                   flatten,
                   identity,
                   testmode,
                   trainmode,
)
from .legacy import back, net
from .losses import (
                   binarycrossentropy,
                   crossentropy,
                   dice_coeff_loss,
                   hinge_loss,
                   huber_loss,
                   kldivergence,
                   logitbinarycrossentropy,
                   logitcrossentropy,
                   mae,
                   mse,
                   msle,
                   poisson_loss,
                   squared_hinge_loss,
                   tversky_loss,
                   xlogx,
                   xlogy,
)
from .normalisation import AlphaDropout, BatchNorm, Dropout, GroupNorm, InstanceNorm, LayerNorm, dropout, normalise
from .optimise import (
                   ADAM,
                   ADAMW,
                   NADAM,
                   OADAM,
                   RADAM,
                   AdaBelief,
                   ADADelta,
                   Adadelta,
                   ADAGrad,
                   Adagrad,
                   Adam,
                   AdaMax,
                   AdamW,
                   AMSGrad,
                   ClipNorm,
                   ClipValue,
                   Descent,
                   ExpDecay,
                   InvDecay,
                   Momentum,
                   NAdam,
                   Nesterov,
                   OAdam,
                   Optimiser,
                   RAdam,
                   RMSProp,
                   RMSprop,
                   WeightDecay,
)
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, Recur, RNNCell, reset
from .saving import load, save
from .state import load_state_dict, state_dict
from .train import SkipStep, StopTraining, TrainStep, skip, stop, throttle, train, train_step, update
from .utils import (
    DataLoader,
    batch,
    batchseq,
    chunk,
    destructure,
    epochs,
    frequencies,
    loadparams,
    onecold,
    onehot,
    onehotbatch,
    unsqueeze,
    unstack,
)

__all__ = [name for name in dir() if not name.startswith("_") and name not in ("functional", "losses")]
