"""Seed 001 (/work/shared/seeds/001_*.txt, "Keras教学(10)"), section 3-1-5 (ResNet18完整结构代码); its printout in 3-1-6 ends with Total params: 11,708,328.

The author's complete program as written: the functional tf.keras ResNet with auto-named
layers, built for 224x224 input and printed with model.summary(). No edits; its quirks are
kept (the misspelt `resiidual_*`, a Flatten after global pooling, Dropout after the logits).
"""
from tensorflow.keras.layers import Conv2D, BatchNormalization, Activation, Add
from tensorflow.keras.layers import Input, MaxPooling2D, GlobalAveragePooling2D, Flatten
from tensorflow.keras.layers import Dense, Dropout, Softmax
from tensorflow.keras.models import Model


def Conv_BN_Relu(filters, kernel_size, strides, input_layer):
    x = Conv2D(filters, kernel_size, strides=strides, padding='same')(input_layer)
    x = BatchNormalization()(x)
    x = Activation('relu')(x)
    return x


# ResNet18网络对应的残差模块a和残差模块b
def resiidual_a_or_b(input_x, filters, flag):
    if flag == 'a':
        # 主路
        x = Conv_BN_Relu(filters, (3, 3), 1, input_x)
        x = Conv_BN_Relu(filters, (3, 3), 1, x)

        # 输出
        y = Add()([x, input_x])

        return y
    elif flag == 'b':
        # 主路
        x = Conv_BN_Relu(filters, (3, 3), 2, input_x)
        x = Conv_BN_Relu(filters, (3, 3), 1, x)

        # 支路下采样
        input_x = Conv_BN_Relu(filters, (1, 1), 2, input_x)

        # 输出
        y = Add()([x, input_x])

        return y
    # 其实还有更简单的封装方式,是python编程的知识了,我就不再多阐述了,主要是让同学们理解流程


# 第一层
input_layer = Input((224, 224, 3))
conv1 = Conv_BN_Relu(64, (7, 7), 1, input_layer)
conv1_Maxpooling = MaxPooling2D((3, 3), strides=2, padding='same')(conv1)

# conv2_x
x = resiidual_a_or_b(conv1_Maxpooling, 64, 'b')
x = resiidual_a_or_b(x, 64, 'a')

# conv3_x
x = resiidual_a_or_b(x, 128, 'b')
x = resiidual_a_or_b(x, 128, 'a')

# conv4_x
x = resiidual_a_or_b(x, 256, 'b')
x = resiidual_a_or_b(x, 256, 'a')

# conv5_x
x = resiidual_a_or_b(x, 512, 'b')
x = resiidual_a_or_b(x, 512, 'a')

# 最后一层
x = GlobalAveragePooling2D()(x)
x = Flatten()(x)
x = Dense(1000)(x)
x = Dropout(0.5)(x)
y = Softmax(axis=-1)(x)

model = Model([input_layer], [y])

model.summary()
