"""Seed 002 (/work/shared/seeds/002_*.txt, "深度学习之路=====10=====>>Resnext(tensorflow2)"), the "代码" section.

The author's complete program as written: ResNeXt as tf.keras subclassed models, one Conv2D per
group, checked on one zero image and printed with model.summary(); the author's printout ends
with Total params: 39,676,136. No edits; the bare `model(inputs).shape` expression, the
commented-out prints and the trailing whitespace are kept.
"""
import tensorflow as tf
import numpy as np
from tensorflow.keras.layers import *
from tensorflow.keras import Model
class Conv(Model):
    def __init__(self,filters,kernel_size=1,strides=1):
        super().__init__()
        self.layers_list=[]
        self.layers_list.append(Conv2D(filters,kernel_size=kernel_size,strides=strides,padding='same'))
        self.layers_list.append(BatchNormalization())
        self.layers_list.append(Activation('relu'))
    def call(self,x):
        for layer in self.layers_list:
            x=layer(x)
        return x
class Group_Conv(Model):
    def __init__(self,strides,cardinality,in_channels):
        super().__init__()
        self.cardinality=cardinality
        self.channels_per_group=in_channels//cardinality
        assert self.channels_per_group>0 ,"erro!!,the channels of per group is less 0"
        self.gc_list=[]
        for i in range(cardinality):
            self.gc_list.append(Conv2D(self.channels_per_group,kernel_size=3,strides=strides,padding='same'))
        self.b=BatchNormalization()
        self.a=Activation('relu')
    def call(self,input):
        x_list=tf.split(input,self.cardinality,axis=-1)
        for i,group_conv in enumerate(self.gc_list):
            x_list[i]=group_conv(x_list[i])
        x=tf.concat(x_list,axis=-1)
        x=self.b(x)
        output=self.a(x)
        return output          
            
class Resnext_block(Model):
    def __init__(self,in_channels,strides,cardinality):
        super().__init__()
        
        self.residual=[]
        self.residual.append(Conv2D(filters=in_channels*2,kernel_size=1,strides=strides,padding='same'))
        self.residual.append(Activation('relu'))
        self.out_channels=in_channels*2
        self.layers_list=[]
        self.layers_list.append(Conv(in_channels))
        self.layers_list.append(Group_Conv(strides,cardinality,in_channels))
        self.layers_list.append(Conv(self.out_channels))
    def call(self,x):
        #print(x.shape)
        input=x
        for residual_layer in self.residual:
            input=residual_layer(input)
        residual=input
        #print(residual.shape)
        for layer in self.layers_list:
            
            x=layer(x)
            
        
        y=x+residual
        #print(y.shape)
        return y
class Resnext(Model):
    def __init__(self,repeat_list,filters=64,cardinality=32):
        super().__init__()
        self.in_channels=filters
        self.layers_list=[]
        self.layers_list.append(Conv(self.in_channels,kernel_size=7,strides=2))
        self.layers_list.append(MaxPooling2D(pool_size=(3,3),strides=2,padding='same'))
        for j,repeat in enumerate(repeat_list):
            self.in_channels=self.in_channels*2
           #print(self.in_channels)
            for i in range(repeat):
                if j!=0 and i==0:
                    strides=2
                else:
                    strides=1
                self.layers_list.append(Resnext_block(self.in_channels,strides,cardinality))
        self.layers_list.append(GlobalAveragePooling2D())
        self.layers_list.append(Dense(1000,activation='softmax'))
    def call(self,x):
        for layer in self.layers_list:
            x=layer(x)
            #print(x.shape)
        return x
##用一个数据验证模型正确性
model = Resnext(repeat_list=[3,4,6,3])
inputs = np.zeros((1, 224, 224, 3), np.float32)
model(inputs).shape
model.summary()
